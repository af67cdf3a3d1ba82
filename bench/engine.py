"""Latency of `graderq.run('python', 'true')` against the bare Docker floor and epicbox.

The contenders run interleaved in one process on one image (harness.interleave); only
ratios measured in the same run are judged:

- graderq: `graderq.run(PROFILE, COMMAND)` on the default engine.
- floor: docker-py's low-level create/start/wait/remove with the create body graderq
  builds for that run (spec.run_spec, spec.create_body), not attached: what no sandbox
  can beat.
- docker defaults: the same sequence with Docker's default options (bridge network,
  json-file log), for information; skipped when the daemon cannot start it.
- epicbox 1.1.0: `epicbox.run` with a profile on the same image, user and isolation, in
  a worker process of bench/.epicbox-venv (bench/epicbox_worker.py); skipped when absent.

With the project's venv:

    .venv/bin/python bench/engine.py --setup-epicbox   # once
    .venv/bin/python bench/engine.py [--rounds 30] [--warmup 3] [--breakdown]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import docker
import docker.errors
import epicbox_worker
from floor import bare_run, graderq_body
from harness import interleave, ms, quantile, table

import graderq
from graderq.sandbox import DockerBackend

PROFILE, COMMAND = "python", "true"
FLOOR_TARGET = 1.10
"""graderq's median may be at most this multiple of the floor's."""
EPICBOX_TARGET = 1.0
"""graderq's median must be below this multiple of epicbox's."""
GRADERQ, EPICBOX = "graderq.run", "epicbox 1.1.0 run"
FLOOR, DEFAULTS = "bare sequence, graderq's options", "bare sequence, Docker's defaults"
API_CALLS = (
    *("create_container", "create_container_from_config", "put_archive", "attach_socket"),
    *("start", "kill", "wait", "inspect_container", "remove_container"),
)
"""The APIClient methods that --breakdown times."""

Sample = tuple[float, list[tuple[str, float]]]
"""One run: its seconds and the API calls timed in it (--breakdown)."""


class CallClock:
    """Times the API calls made through one APIClient (for --breakdown)."""

    def __init__(self, api: docker.APIClient) -> None:
        self.calls: list[tuple[str, float]] = []
        for name in API_CALLS:
            setattr(api, name, self._timed(name, getattr(api, name)))

    def _timed(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.calls.append((name, time.perf_counter() - started))

        return timed


def sampled(measure: Callable[[], float], clock: CallClock | None) -> Callable[[], Sample]:
    def sample() -> Sample:
        if clock is None:
            return measure(), []
        clock.calls = []
        return measure(), clock.calls

    return sample


def graderq_run() -> float:
    started = time.perf_counter()
    result = graderq.run(PROFILE, COMMAND)
    elapsed = time.perf_counter() - started
    if result["exit_code"] != 0:
        raise RuntimeError(f"graderq.run failed: {result}")
    return elapsed


def contenders(
    api: docker.APIClient, stack: ExitStack, breakdown: bool
) -> dict[str, Callable[[], Sample]]:
    """Every contender that can run here; a missing one is reported, not fatal."""
    engine = graderq.get_engine()
    profile = engine.profile(PROFILE)
    defaults = {"Image": profile.docker_image, "Cmd": ["/bin/sh", "-c", COMMAND]}

    def floor() -> float:
        return bare_run(api, graderq_body(engine, PROFILE, COMMAND))  # built off the clock

    def plain() -> float:
        return bare_run(api, defaults)

    chosen = {GRADERQ: graderq_run, FLOOR: floor}
    try:  # Docker's default bridge network may be missing or broken on a test machine
        plain()
        chosen[DEFAULTS] = plain
    except docker.errors.APIError as exc:
        print(f"{DEFAULTS}: SKIPPED, {exc.explanation or exc}\n")
    if epicbox_worker.PYTHON.exists():
        epicbox = epicbox_worker.EpicboxWorker(profile, PROFILE, COMMAND)
        chosen[EPICBOX] = stack.enter_context(epicbox).measure
    else:
        print(f"epicbox: SKIPPED, no {epicbox_worker.VENV} (`bench/engine.py --setup-epicbox`)\n")
    clocks: dict[str, CallClock] = {}
    if breakdown:
        if isinstance(engine.backend, DockerBackend):
            clocks[GRADERQ] = CallClock(engine.backend.api)
        clocks[FLOOR] = clocks[DEFAULTS] = CallClock(api)
    return {name: sampled(measure, clocks.get(name)) for name, measure in chosen.items()}


def report(totals: dict[str, list[float]]) -> None:
    """The table of medians, p90 and graderq's ratios, and the verdicts on the targets."""
    base = statistics.median(totals[GRADERQ])
    rows = []
    for name, values in totals.items():
        median = statistics.median(values)
        cells = [ms(median), ms(quantile(values, 0.9)), ms(min(values)), f"{base / median:.3f}"]
        rows.append([name, *cells])
    table(["contender", "median ms", "p90 ms", "min ms", "graderq /"], rows)
    verdicts = []
    for label, other, op, target in [
        ("graderq / floor", FLOOR, "<=", FLOOR_TARGET),
        ("graderq / epicbox", EPICBOX, "<", EPICBOX_TARGET),
    ]:
        if other not in totals:
            verdicts.append([label, "-", f"{op} {target:.2f}", "SKIPPED"])
            continue
        ratio = base / statistics.median(totals[other])
        ok = ratio <= target if op == "<=" else ratio < target
        verdicts.append([label, f"{ratio:.3f}", f"{op} {target:.2f}", "PASS" if ok else "FAIL"])
    print()
    table(["ratio of medians", "value", "target", "verdict"], verdicts)


def report_breakdown(samples: dict[str, list[Sample]]) -> None:
    """Median ms per API call made in every run, and outside them, per timed contender.

    graderq's time outside API calls is mostly reading the attach stream to its end,
    while the container runs; the bare sequences spend that time in `wait`.
    """
    for name, runs in samples.items():
        steps: dict[str, list[float]] = defaultdict(list)
        for elapsed, calls in runs:
            per_run: dict[str, float] = defaultdict(float)
            for call, seconds in calls:
                per_run[call] += seconds
            per_run["outside API calls"] = elapsed - sum(per_run.values())
            for step, seconds in per_run.items():
                steps[step].append(seconds)
        rows = [[s, ms(statistics.median(v))] for s, v in steps.items() if len(v) == len(runs)]
        if len(rows) > 1:
            print(f"\nbreakdown of {name} (median ms per run)")
            table(["step", "ms"], rows, indent="  ")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="recorded rounds (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="unrecorded rounds (default 3)")
    parser.add_argument("--breakdown", action="store_true", help="also time each API call")
    parser.add_argument("--setup-epicbox", action="store_true", help="create the epicbox venv")
    args = parser.parse_args(argv)
    if args.setup_epicbox:
        epicbox_worker.setup()
        return
    if args.rounds < 2 or args.warmup < 0:
        parser.error("--rounds must be at least 2 and --warmup at least 0")
    with ExitStack() as stack:
        api = docker.APIClient(base_url=graderq.get_engine().settings.docker_url, timeout=60)
        stack.callback(api.close)
        chosen = contenders(api, stack, args.breakdown)
        version, image = api.version(), graderq.get_engine().profile(PROFILE).docker_image
        print(
            f"{args.rounds} rounds (+{args.warmup} warm-up), interleaved, of {COMMAND!r} on "
            f"{image}; Docker {version['Version']} (API {version['ApiVersion']}), "
            f"{os.cpu_count()} CPUs\n"
        )
        samples = interleave(chosen, args.rounds, args.warmup)
    report({name: [elapsed for elapsed, _ in runs] for name, runs in samples.items()})
    if args.breakdown:
        report_breakdown(samples)


if __name__ == "__main__":
    main()
