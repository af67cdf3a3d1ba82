"""epicbox 1.1.0 in a venv of its own, for bench/engine.py: both ends of the pipe.

bench/engine.py starts this file with the venv's interpreter as
`python epicbox_worker.py IMAGE USER READ_ONLY NETWORK_DISABLED PROFILE COMMAND`
(flags are 1 or 0). It prints `ready`, then answers each `run` line on stdin with the
seconds that one `epicbox.run(PROFILE, COMMAND)` took, or `error MESSAGE`; it exits at
EOF. Timing inside the worker keeps process start-up and the pipe out of the figure.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

WORKER = Path(__file__).resolve()
VENV = WORKER.parent / ".epicbox-venv"
PYTHON = VENV / "bin" / "python"
REQUIREMENTS = ("epicbox==1.1.0", "urllib3<2")


def setup() -> None:
    """Create bench/.epicbox-venv with epicbox 1.1.0 (it needs urllib3 < 2)."""
    if not PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True)
    show = [str(PYTHON), "-m", "pip", "show", "epicbox"]
    version = subprocess.run(show, check=True, capture_output=True, text=True).stdout
    print(f"epicbox installed in {VENV} ({version.splitlines()[1]})")


class EpicboxWorker:
    """The parent's end: a worker process serving `run` requests for one profile."""

    def __init__(self, profile: Any, name: str, command: str) -> None:
        flags = ["1" if profile.read_only else "0", "1" if profile.network_disabled else "0"]
        argv = [str(PYTHON), "-P", str(WORKER), profile.docker_image, profile.user, *flags]
        self.process = subprocess.Popen(
            [*argv, name, command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )  # -P: no bench/ on the worker's sys.path
        if (line := self._read()) != "ready":
            self.close()
            raise RuntimeError(f"epicbox worker did not start: {line!r}")

    def __enter__(self) -> EpicboxWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _read(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def measure(self) -> float:
        """One timed `epicbox.run`, in seconds."""
        assert self.process.stdin is not None
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        answer = self._read()
        try:
            return float(answer)
        except ValueError:
            raise RuntimeError(f"epicbox worker: {answer or 'exited'}") from None

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def main(
    image: str, user: str, read_only: str, network_disabled: str, profile: str, command: str
) -> None:
    """The worker's end: configure one epicbox profile, serve `run` until stdin closes."""
    import epicbox  # only in the epicbox venv

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
