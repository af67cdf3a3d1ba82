"""Run epicbox in its own venv for bench/engine.py: one timed `epicbox.run` per request.

Started with the venv's interpreter as
`python epicbox_worker.py IMAGE USER READ_ONLY NETWORK_DISABLED PROFILE COMMAND`
(flags are 1 or 0). It prints `ready`, then answers each `run` line on stdin with the
seconds that one `epicbox.run(PROFILE, COMMAND)` took, or `error MESSAGE`; it exits at
EOF. Timing inside the worker keeps process start-up and the pipe out of the figure.
"""

from __future__ import annotations

import sys
import time

import epicbox


def main(
    image: str, user: str, read_only: str, network_disabled: str, profile: str, command: str
) -> None:
    """Configure one epicbox profile, then serve `run` requests until stdin closes."""
    options = {"read_only": read_only == "1", "network_disabled": network_disabled == "1"}
    epicbox.configure(profiles=[epicbox.Profile(profile, image, user=user, **options)])
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            print(f"error unknown request {line.strip()!r}", flush=True)
            continue
        started = time.perf_counter()
        try:
            result = epicbox.run(profile, command)
        except Exception as exc:  # reported to the parent, which stops the benchmark
            print(f"error {type(exc).__name__}: {exc}", flush=True)
            continue
        elapsed = time.perf_counter() - started
        if result["exit_code"] != 0:
            print(f"error exit code {result['exit_code']}: {result['stderr']!r}", flush=True)
        else:
            print(f"{elapsed!r}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:7])
