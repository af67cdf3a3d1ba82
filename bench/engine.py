"""Latency of `graderq.run('python', 'true')` against the bare Docker floor and epicbox.

The contenders run round-robin in one process on one image, the order rotating each
round, so machine noise hits them alike; only ratios measured in the same run are
judged (bench/ prints ratios, it asserts no times). Contenders:

- graderq: `graderq.run(PROFILE, COMMAND)` on the default engine.
- floor: docker-py's low-level create/start/wait/remove with the very create body
  graderq sends (network none, no log driver, caps dropped, read-only root with a
  tmpfs /sandbox, limits), not attached: what no sandbox can beat.
- docker defaults: the same sequence with Docker's default options (bridge network,
  json-file log), for information; skipped when the daemon cannot start it.
- epicbox 1.1.0: `epicbox.run` with a profile on the same image, user and isolation, in
  a worker process of bench/.epicbox-venv (made by `--setup-epicbox`); skipped when absent.

With the project's venv:

    .venv/bin/python bench/engine.py --setup-epicbox   # once
    .venv/bin/python bench/engine.py [--rounds 30] [--warmup 3] [--breakdown]
"""

from __future__ import annotations

import sys
from pathlib import Path

# `python bench/engine.py` puts bench/ first on sys.path, where a bench module named like
# a standard one (bench/queue.py) would shadow it for every library: take bench/ off.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import argparse
import os
import statistics
import subprocess
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import docker
import docker.errors

import graderq
from graderq.sandbox import ContainerSpec, DockerBackend
from graderq.sandbox.spec import KIND_SANDBOX, LABEL, create_body, owner_labels

PROFILE = "python"
COMMAND = "true"
FLOOR_TARGET = 1.10
"""graderq's median may be at most this multiple of the floor's."""
EPICBOX_TARGET = 1.0
"""graderq's median must be below this multiple of epicbox's."""
FLOOR = "bare sequence, graderq's options"
DEFAULTS = "bare sequence, Docker's defaults"

BENCH = Path(__file__).resolve().parent
EPICBOX_VENV = BENCH / ".epicbox-venv"
EPICBOX_PYTHON = EPICBOX_VENV / "bin" / "python"
EPICBOX_WORKER = BENCH / "epicbox_worker.py"
EPICBOX_REQUIREMENTS = ("epicbox==1.1.0", "urllib3<2")
API_CALLS = (
    "create_container",
    "create_container_from_config",
    "put_archive",
    "attach_socket",
    "start",
    "kill",
    "wait",
    "inspect_container",
    "remove_container",
)
"""The APIClient methods that --breakdown times."""

Timings = dict[str, list[float]]


class Contender(Protocol):
    """One way to run `true` in a one-time container."""

    name: str
    clock: CallClock | None
    """Times the contender's API calls when --breakdown asks for it."""

    def measure(self) -> float:
        """Run once; return the seconds it took (raise if the run failed)."""

    def close(self) -> None:
        """Release what the contender holds."""


class CallClock:
    """Times the API calls made through one APIClient instance (for --breakdown)."""

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

    def take(self) -> list[tuple[str, float]]:
        """The calls timed since the last take."""
        calls, self.calls = self.calls, []
        return calls


class GraderqRun:
    """`graderq.run(PROFILE, COMMAND)` on the default engine."""

    name = "graderq.run"

    def __init__(self) -> None:
        self.clock: CallClock | None = None

    def measure(self) -> float:
        started = time.perf_counter()
        result = graderq.run(PROFILE, COMMAND)
        elapsed = time.perf_counter() - started
        if result["exit_code"] != 0:
            raise RuntimeError(f"graderq.run failed: {result}")
        return elapsed

    def close(self) -> None:
        pass


class BareSequence:
    """create/start/wait/remove through docker-py's APIClient, nothing attached."""

    def __init__(self, name: str, api: docker.APIClient, body: Callable[[], dict[str, Any]]):
        self.name = name
        self.api = api
        self.body = body
        self.clock: CallClock | None = None

    def measure(self) -> float:
        body = self.body()  # built outside the clock: the floor pays for no Python
        name = f"graderq-bench-{uuid.uuid4().hex[:16]}"
        started = time.perf_counter()
        container = self.api.create_container_from_config(body, name=name)["Id"]
        try:
            self.api.start(container)
            status = self.api.wait(container)["StatusCode"]
        finally:
            # v=True: the anonymous /sandbox volume goes with the container, as in graderq
            self.api.remove_container(container, v=True, force=True)
        elapsed = time.perf_counter() - started
        if status != 0:
            raise RuntimeError(f"{self.name}: `{COMMAND}` exited {status}")
        return elapsed

    def close(self) -> None:
        pass


class EpicboxWorker:
    """epicbox 1.1.0 in a worker process of its own venv, timed inside the worker."""

    name = "epicbox 1.1.0 run"

    def __init__(self, profile: graderq.Profile) -> None:
        self.clock: CallClock | None = None
        argv = [
            str(EPICBOX_PYTHON),
            "-P",  # no bench/ on the worker's sys.path either
            str(EPICBOX_WORKER),
            profile.docker_image,
            profile.user,
            "1" if profile.read_only else "0",
            "1" if profile.network_disabled else "0",
            PROFILE,
            COMMAND,
        ]
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        if (line := self._read()) != "ready":
            self.close()
            raise RuntimeError(f"epicbox worker did not start: {line!r}")

    def _read(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def measure(self) -> float:
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


def graderq_body(engine: graderq.Engine) -> Callable[[], dict[str, Any]]:
    """The create body graderq sends for `graderq.run(PROFILE, COMMAND)`."""
    profile = engine.profile(PROFILE)
    limits = engine.limits(None)

    def body() -> dict[str, Any]:
        spec = ContainerSpec(
            image=profile.docker_image,
            command=COMMAND,
            limits=limits,
            user=profile.user,
            read_only=profile.read_only,
            network_disabled=profile.network_disabled,
            labels=owner_labels(KIND_SANDBOX, **{f"{LABEL}.profile": profile.name}),
        )
        return create_body(spec)

    return body


def default_body(image: str) -> Callable[[], dict[str, Any]]:
    """A create body with nothing but the image and command: Docker's defaults."""
    return lambda: {"Image": image, "Cmd": ["/bin/sh", "-c", COMMAND]}


def quantile(values: list[float], q: float) -> float:
    """The q-quantile, interpolated between the closest ranks."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def setup_epicbox() -> None:
    """Create bench/.epicbox-venv with epicbox 1.1.0 (it needs urllib3 < 2)."""
    if not EPICBOX_PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(EPICBOX_VENV)], check=True)
    pip = [str(EPICBOX_PYTHON), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, *EPICBOX_REQUIREMENTS], check=True)
    version = subprocess.run(
        [str(EPICBOX_PYTHON), "-m", "pip", "show", "epicbox"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()[1]
    print(f"epicbox installed in {EPICBOX_VENV} ({version})")


@contextmanager
def contenders(breakdown: bool) -> Iterator[tuple[list[Contender], docker.APIClient]]:
    """Every contender that can run here; a missing epicbox venv is reported, not fatal."""
    engine = graderq.get_engine()
    profile = engine.profile(PROFILE)
    api = docker.APIClient(base_url=engine.settings.docker_url, timeout=60)
    run = GraderqRun()
    floor = BareSequence(FLOOR, api, graderq_body(engine))
    plain = BareSequence(DEFAULTS, api, default_body(profile.docker_image))
    chosen: list[Contender] = [run, floor]
    try:  # Docker's default bridge network may be missing or broken on a test machine
        plain.measure()
        chosen.append(plain)
    except docker.errors.APIError as exc:
        print(f"{DEFAULTS}: SKIPPED, {exc.explanation or exc}\n")
    if EPICBOX_PYTHON.exists():
        chosen.append(EpicboxWorker(profile))
    else:
        print(
            f"epicbox: SKIPPED, {EPICBOX_VENV} is absent "
            "(create it with `python bench/engine.py --setup-epicbox`)\n"
        )
    if breakdown:
        backend = engine.backend
        if isinstance(backend, DockerBackend):
            run.clock = CallClock(backend.api)
        floor.clock = plain.clock = CallClock(api)
    try:
        yield chosen, api
    finally:
        for contender in chosen:
            contender.close()
        api.close()


def bench(
    chosen: list[Contender], rounds: int, warmup: int
) -> tuple[Timings, dict[str, list[Timings]]]:
    """Round-robin `warmup` unrecorded rounds, then `rounds` recorded ones."""
    totals: Timings = {contender.name: [] for contender in chosen}
    calls: dict[str, list[Timings]] = defaultdict(list)
    for index in range(warmup + rounds):
        shift = index % len(chosen)
        for contender in chosen[shift:] + chosen[:shift]:
            elapsed = contender.measure()
            clock = contender.clock
            timed = clock.take() if clock else []
            if index < warmup:
                continue
            totals[contender.name].append(elapsed)
            if clock:
                steps: Timings = defaultdict(list)
                for name, seconds in timed:
                    steps[name].append(seconds)
                steps["outside API calls"].append(elapsed - sum(s for _, s in timed))
                calls[contender.name].append(steps)
    return totals, calls


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


def report(totals: Timings) -> None:
    """The table of medians, p90 and graderq's ratios, and the verdicts on the targets."""
    graderq_median = statistics.median(totals[GraderqRun.name])
    width = max(len(name) for name in totals) + 2
    print(f"{'contender':<{width}}{'median ms':>10}{'p90 ms':>10}{'min ms':>10}{'graderq /':>11}")
    for name, values in totals.items():
        median = statistics.median(values)
        row = f"{ms(median)}  {ms(quantile(values, 0.9))}  {ms(min(values))}"
        print(f"{name:<{width}}{row}{graderq_median / median:11.3f}")
    print()
    judged = [
        ("graderq / floor", FLOOR, "<=", FLOOR_TARGET),
        ("graderq / epicbox", EpicboxWorker.name, "<", EPICBOX_TARGET),
    ]
    print(f"{'ratio of medians':<20}{'value':>7}  {'target':<9}verdict")
    for label, other, op, target in judged:
        if other not in totals:
            print(f"{label:<20}{'-':>7}  {op} {target:<6.2f} SKIPPED (no epicbox venv)")
            continue
        ratio = graderq_median / statistics.median(totals[other])
        ok = ratio <= target if op == "<=" else ratio < target
        print(f"{label:<20}{ratio:7.3f}  {op} {target:<6.2f} {'PASS' if ok else 'FAIL'}")


def report_breakdown(calls: dict[str, list[Timings]]) -> None:
    """Median milliseconds per API call and outside them, per contender.

    graderq's time outside API calls is mostly reading the attach stream to its end,
    while the container runs; the bare sequences spend that time in `wait`.
    """
    for name, samples in calls.items():
        print(f"\nbreakdown of {name} (median ms per run, of calls made in every run)")
        steps: dict[str, list[float]] = defaultdict(list)
        for sample in samples:
            for step, values in sample.items():
                steps[step].append(sum(values))
        for step, values in steps.items():
            if len(values) == len(samples):
                print(f"  {step:<30}{ms(statistics.median(values))}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="recorded rounds (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="unrecorded rounds (default 3)")
    parser.add_argument(
        "--breakdown", action="store_true", help="also time each Docker API call per run"
    )
    parser.add_argument(
        "--setup-epicbox", action="store_true", help=f"create {EPICBOX_VENV.name} and exit"
    )
    args = parser.parse_args(argv)
    if args.setup_epicbox:
        setup_epicbox()
        return
    if args.rounds < 2 or args.warmup < 0:
        parser.error("--rounds must be at least 2 and --warmup at least 0")
    with contenders(args.breakdown) as (chosen, api):
        version = api.version()
        print(
            f"{args.rounds} rounds (+{args.warmup} warm-up), round-robin, of {COMMAND!r} on "
            f"{graderq.get_engine().profile(PROFILE).docker_image}; Docker "
            f"{version['Version']} (API {version['ApiVersion']}), {os.cpu_count()} CPUs\n"
        )
        totals, calls = bench(chosen, args.rounds, args.warmup)
    report(totals)
    if args.breakdown:
        report_breakdown(calls)


if __name__ == "__main__":
    main()
