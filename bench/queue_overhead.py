"""What the Celery queue adds to a sandbox run: latency overhead and throughput ratio.

One run starts its own `celery -A graderq worker -c 2` on Redis databases of its own
(flushed first; refused while other clients use them), measures, and stops the worker
again, also on errors, Ctrl-C and SIGTERM.

- latency: `graderq.run(PROFILE, COMMAND)` in this process against
  `run_sandbox.delay(PROFILE, COMMAND).get()`, interleaved round-robin with the order
  alternating; the queue's overhead is the median of the rounds' differences (target
  below LATENCY_TARGET_MS). The worker's own "succeeded in" times split it into the
  transport around the task and the task in the worker.
- throughput: N tiny jobs through the worker's 2 processes (submit all, then get all)
  against 2 threads doing docker-py's bare create/start/wait/remove with the container
  spec graderq builds for the profile (target at least THROUGHPUT_TARGET times the bare
  rate), and, to tell the engine's cost from the queue's, against 2 threads calling
  graderq.run; the phases rotate and their medians are compared.

With the project's venv:

    .venv/bin/python bench/queue_overhead.py [--jobs 60] [--rounds 30] [--passes 3]
    .venv/bin/python bench/queue_overhead.py --broker amqp://guest:guest@127.0.0.1:5672/graderq-bench

A RabbitMQ vhost of the benchmark's own keeps other workers off its queue (once:
`rabbitmqctl add_vhost graderq-bench` and `rabbitmqctl set_permissions -p graderq-bench
guest '.*' '.*' '.*'`); the shared default vhost `//` works while nothing else uses it.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from graderq.launcher import WorkerProcess, start_worker

PROFILE = "python"
COMMAND = "true"
CONCURRENCY = 2
LATENCY_TARGET_MS = 15.0
"""The queue may add at most this many milliseconds to the median run."""
THROUGHPUT_TARGET = 0.9
"""The queue's jobs/s must be at least this multiple of the bare docker-py rate."""
REDIS_BROKER = "redis://127.0.0.1:6379/12"
REDIS_RESULTS = "redis://127.0.0.1:6379/13"
READY_TIMEOUT = 60.0
RESULT_TIMEOUT = 120.0
LOG_TIMEOUT = 10.0
SUCCEEDED = re.compile(
    r"^\[(?P<at>[0-9-]+ [0-9:]+,[0-9]+): INFO/(?P<process>[^\]]+)\] "
    r"Task \S+\[(?P<id>[0-9a-f-]{36})\] succeeded in (?P<runtime>[0-9.]+)s",
    re.MULTILINE,
)
"""Celery's INFO line for a finished task: when, which pool process, its id, its runtime."""


@contextmanager
def running_worker(log_dir: Path) -> Iterator[WorkerProcess]:
    """Start a worker with this process's environment; stop it whatever happens."""
    worker = start_worker("bench", log_dir / "worker.log", CONCURRENCY, timeout=READY_TIMEOUT)
    try:
        yield worker
    finally:
        worker.stop()


def use_databases(broker: str, results: str) -> None:
    """Point graderq at the benchmark's broker and results; must precede graderq.app."""
    if "graderq.app" in sys.modules:
        raise RuntimeError("graderq.app was imported before the benchmark's settings")
    os.environ["GRADERQ_BROKER_URL"] = broker
    os.environ["GRADERQ_RESULT_BACKEND"] = results


def clear_databases(broker: str, results: str) -> None:
    """Flush the Redis databases; refuse databases or an AMQP queue that others use."""
    import redis
    from amqp.exceptions import NotFound
    from kombu import Connection

    from graderq.routing import DEFAULT_QUEUE

    for url in (broker, results):
        if url.startswith("redis://"):
            client = redis.Redis.from_url(url)
            db = client.connection_pool.connection_kwargs.get("db", 0)
            others = [c for c in client.client_list() if int(c["db"]) == db]
            if len(others) > 1:  # this client's own connection is one
                raise RuntimeError(
                    f"{len(others) - 1} other clients use {url}; pick databases of the "
                    "benchmark's own (--broker, --results)"
                )
            client.flushdb()
    if broker.startswith("amqp://"):
        with Connection(broker) as connection:
            channel = connection.default_channel
            try:
                _, messages, consumers = channel.queue_declare(DEFAULT_QUEUE, passive=True)
            except NotFound:  # no such queue yet: nothing shared
                return
            if messages or consumers:
                raise RuntimeError(
                    f"queue {DEFAULT_QUEUE!r} on {broker} holds {messages} messages and has "
                    f"{consumers} consumers; use a vhost of the benchmark's own"
                )


def quantile(values: list[float], q: float) -> float:
    """The q-quantile (0 < q < 1), interpolated."""
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


def check(result: dict[str, Any], what: str) -> None:
    if result.get("exit_code") != 0:
        raise RuntimeError(f"{what} failed: {result!r}")


def warm_up(run_sandbox: Any, rounds: int) -> None:
    """Every worker process makes its engine; this process makes its own."""
    import graderq

    for _ in range(rounds):
        check(graderq.run(PROFILE, COMMAND), "graderq.run")
        pending = [run_sandbox.delay(PROFILE, COMMAND) for _ in range(2 * CONCURRENCY)]
        for result in pending:
            check(result.get(timeout=RESULT_TIMEOUT), "run_sandbox")


@dataclass
class Latency:
    """Seconds per round: local run, queued run, its publish; the queued tasks' ids."""

    local: list[float]
    queued: list[float]
    published: list[float]
    task_ids: list[str]


def measure_latency(run_sandbox: Any, rounds: int) -> Latency:
    """Local and queued runs one after the other, the order alternating each round."""
    import graderq

    latency = Latency([], [], [], [])

    def local() -> None:
        started = time.perf_counter()
        result = graderq.run(PROFILE, COMMAND)
        latency.local.append(time.perf_counter() - started)
        check(result, "graderq.run")

    def queued() -> None:
        started = time.perf_counter()
        pending = run_sandbox.delay(PROFILE, COMMAND)
        published = time.perf_counter()
        result = pending.get(timeout=RESULT_TIMEOUT)
        ended = time.perf_counter()
        latency.queued.append(ended - started)
        latency.published.append(published - started)
        latency.task_ids.append(pending.id)
        check(result, "run_sandbox")

    for turn in range(rounds):
        for measure in (local, queued) if turn % 2 == 0 else (queued, local):
            measure()
    return latency


@dataclass(frozen=True)
class TaskRun:
    """A task as the worker logged it: id, pool process, end (epoch seconds), runtime."""

    id: str
    process: str
    ended: float
    runtime: float


def worker_runs(worker: WorkerProcess, task_ids: list[str]) -> list[TaskRun]:
    """The runs of `task_ids` in the worker's log (its clock has milliseconds).

    A task's line is written just after its result, so the log is read until every
    task is in it; one missing then ran elsewhere: another worker shares the broker.
    """
    wanted = set(task_ids)
    deadline = time.monotonic() + LOG_TIMEOUT
    while True:
        matches = [m for m in SUCCEEDED.finditer(worker.output()) if m["id"] in wanted]
        if len(matches) >= len(wanted):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{len(wanted) - len(matches)} of {len(wanted)} tasks did not run in the "
                "benchmark's worker: another worker consumes the same broker queue; give "
                "the benchmark a Redis database or RabbitMQ vhost of its own"
            )
        time.sleep(0.05)
    return [
        TaskRun(
            match["id"],
            match["process"],
            datetime.strptime(match["at"], "%Y-%m-%d %H:%M:%S,%f").timestamp(),
            float(match["runtime"]),
        )
        for match in matches
    ]


def idle_gaps(runs: list[TaskRun]) -> list[float]:
    """Each pool process's time between one task's end and its next task's start."""
    gaps = []
    by_process: dict[str, list[TaskRun]] = {}
    for run in runs:
        by_process.setdefault(run.process, []).append(run)
    for own in by_process.values():
        own.sort(key=lambda run: run.ended)
        gaps += [after.ended - after.runtime - before.ended for before, after in pairwise(own)]
    return gaps


def report_latency(latency: Latency, runs: list[TaskRun]) -> float:
    """Print the latency table; return the queue's overhead: the median of the rounds'
    differences (queued minus local), which round-to-round drift cannot skew."""
    runtime = {run.id: run.runtime for run in runs}
    in_worker = [runtime[task_id] for task_id in latency.task_ids]
    print(f"\nlatency of {PROFILE} {COMMAND!r}, {len(latency.local)} interleaved rounds (ms)")
    print(f"  {'':44} {'median':>8} {'p90':>8}")
    rows = [
        ("graderq.run (this process)", latency.local),
        ("run_sandbox.delay().get()", latency.queued),
        ("  of which delay() (publish)", latency.published),
        ("  of which the task in the worker", in_worker),
        ("queued - local, per round", differences(latency.queued, latency.local)),
        ("  queued - its task in the worker", differences(latency.queued, in_worker)),
        ("  its task in the worker - local", differences(in_worker, latency.local)),
    ]
    for name, values in rows:
        print(f"  {name:44} {ms(statistics.median(values))} {ms(quantile(values, 0.9))}")
    overhead = statistics.median(rows[4][1])
    gap = statistics.median(latency.queued) - statistics.median(latency.local)
    verdict = "PASS" if overhead * 1000 < LATENCY_TARGET_MS else "FAIL"
    print(f"  difference of the medians: {gap * 1000:.1f} ms")
    print(
        f"  queue overhead (median per round): {overhead * 1000:.1f} ms "
        f"(target < {LATENCY_TARGET_MS:.0f} ms) {verdict}"
    )
    return overhead


def differences(minuends: list[float], subtrahends: list[float]) -> list[float]:
    return [a - b for a, b in zip(minuends, subtrahends, strict=True)]


@dataclass
class Phase:
    """One throughput phase: its rate and each job's own time."""

    rate: float
    job_times: list[float]
    gaps: list[float] = field(default_factory=list)
    """The worker's idle time between consecutive tasks of one pool process."""


Job = Callable[[], None]


@contextmanager
def threaded_runner(make_job: Callable[[], Job]) -> Iterator[Callable[[int], Phase]]:
    """Phases of jobs on CONCURRENCY threads; each thread makes its own job once."""
    local = threading.local()

    def one(_: int) -> float:
        if not hasattr(local, "job"):
            local.job = make_job()
        started = time.perf_counter()
        local.job()
        return time.perf_counter() - started

    def phase(jobs: int) -> Phase:
        started = time.perf_counter()
        job_times = list(pool.map(one, range(jobs)))
        return Phase(jobs / (time.perf_counter() - started), job_times)

    with ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="runner") as pool:
        phase(2 * CONCURRENCY)  # each thread makes its job before the clock runs
        yield phase


def bare_job() -> Job:
    """docker-py's bare create/start/wait/remove of PROFILE's container, no attach."""
    import docker

    api = docker.APIClient(**docker.utils.kwargs_from_env())

    def job() -> None:
        container = api.create_container_from_config(python_spec_body())["Id"]
        try:
            api.start(container)
            status = api.wait(container)
        finally:
            api.remove_container(container, v=True, force=True)
        if status.get("StatusCode") != 0:
            raise RuntimeError(f"bare run failed: {status!r}")

    return job


def engine_job() -> Job:
    """graderq.run on an engine (and Docker connection) of the thread's own."""
    import graderq

    engine = graderq.Engine()

    def job() -> None:
        check(engine.run(PROFILE, COMMAND), "Engine.run")

    return job


def queue_phase(run_sandbox: Any, worker: WorkerProcess, jobs: int) -> Phase:
    """Submit `jobs` runs, then get every result; the worker's runtimes are the job times."""
    started = time.perf_counter()
    pending = [run_sandbox.delay(PROFILE, COMMAND) for _ in range(jobs)]
    for result in pending:
        check(result.get(timeout=RESULT_TIMEOUT), "run_sandbox")
    rate = jobs / (time.perf_counter() - started)
    runs = worker_runs(worker, [result.id for result in pending])
    return Phase(rate, [run.runtime for run in runs], idle_gaps(runs))


def busy(phase: Phase) -> float:
    """The fraction of the phase its CONCURRENCY runners spent inside jobs."""
    return sum(phase.job_times) * phase.rate / (len(phase.job_times) * CONCURRENCY)


def python_spec_body() -> dict[str, Any]:
    """Docker's create body for PROFILE's container, built as Engine.create builds it."""
    import graderq
    from graderq.sandbox import ContainerSpec
    from graderq.sandbox.spec import KIND_SANDBOX, LABEL, create_body, owner_labels

    engine = graderq.get_engine()
    profile = engine.profile(PROFILE)
    spec = ContainerSpec(
        image=profile.docker_image,
        command=COMMAND,
        limits=engine.limits(None),
        user=profile.user,
        read_only=profile.read_only,
        network_disabled=profile.network_disabled,
        with_files=False,  # as Engine.create for a run without files
        labels=owner_labels(KIND_SANDBOX, **{f"{LABEL}.profile": profile.name}),
    )
    return create_body(spec)


def rotated(items: Sequence[int], shift: int) -> list[int]:
    """`items` rotated left by `shift`: each pass runs the phases in another order."""
    shift %= len(items)
    return [*items[shift:], *items[:shift]]


def describe(phase: Phase) -> str:
    """A phase's cells: jobs/s, busy share, median job time in ms."""
    return f"{phase.rate:7.2f} {busy(phase):5.0%} {ms(statistics.median(phase.job_times))}"


def measure_throughput(run_sandbox: Any, worker: WorkerProcess, jobs: int, passes: int) -> float:
    """Rotate bare, engine and queued phases; print them and the ratios of their medians.

    "busy" is the share of the phase its runners (threads, worker processes) spent in
    jobs; "job ms" is one job's median time in its runner (for the queue, the task's
    runtime in the worker). The engine phase (graderq.run on 2 threads, no queue) splits
    the queue's gap to the bare floor into the engine's part and the queue's own.
    """
    print(f"\nthroughput of {jobs} jobs of {PROFILE} {COMMAND!r} at concurrency {CONCURRENCY}")
    names = ("bare docker-py", "graderq.run", "run_sandbox queue")
    print(f"  {'':6}" + "".join(f" {name:>22}" for name in names) + f" {'queue/':>7}")
    print(f"  {'pass':6}" + f" {'jobs/s':>7} {'busy':>5} {'job ms':>8}" * 3 + f" {'bare':>7}")
    rates: list[list[float]] = [[], [], []]
    gaps: list[float] = []
    with threaded_runner(bare_job) as bare, threaded_runner(engine_job) as engine:
        runners = [bare, engine, lambda jobs: queue_phase(run_sandbox, worker, jobs)]
        for number in range(1, passes + 1):
            order = rotated(range(len(runners)), number - 1)
            done = {index: runners[index](jobs) for index in order}
            row = [done[index] for index in range(len(runners))]
            for column, phase in zip(rates, row, strict=True):
                column.append(phase.rate)
            gaps += row[2].gaps
            cells = " ".join(describe(phase) for phase in row)
            print(f"  {number:<6} {cells} {row[2].rate / row[0].rate:7.2f}")
    bare_rate, engine_rate, queue_rate = (statistics.median(column) for column in rates)
    medians = "".join(f" {rate:7.2f}{'':15}" for rate in (bare_rate, engine_rate, queue_rate))
    print(f"  {'median':6}{medians}".rstrip())
    if gaps:
        print(
            f"  worker processes idle between tasks: median {ms(statistics.median(gaps))} ms,"
            f" p90 {ms(quantile(gaps, 0.9))} ms"
        )
    print(
        f"  graderq.run / bare: {engine_rate / bare_rate:.2f}x; "
        f"queue / graderq.run: {queue_rate / engine_rate:.2f}x"
    )
    ratio = queue_rate / bare_rate
    verdict = "PASS" if ratio >= THROUGHPUT_TARGET else "FAIL"
    print(f"  queue / bare (medians): {ratio:.3f}x (target >= {THROUGHPUT_TARGET}x) {verdict}")
    return ratio


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=60, help="jobs per throughput phase")
    parser.add_argument("--rounds", type=int, default=30, help="latency rounds")
    parser.add_argument("--passes", type=int, default=3, help="throughput phases of each kind")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured warm-up rounds")
    parser.add_argument("--broker", default=REDIS_BROKER, help="Celery broker URL")
    parser.add_argument("--results", default=REDIS_RESULTS, help="Redis result backend URL")
    args = parser.parse_args(argv)
    if args.rounds < 2 or args.passes < 1 or args.jobs < 1:
        parser.error("need --rounds >= 2, --passes >= 1 and --jobs >= 1")

    # SIGTERM unwinds like Ctrl-C, so the worker is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    use_databases(args.broker, args.results)
    clear_databases(args.broker, args.results)
    from graderq.tasks import run_sandbox

    print(f"broker {args.broker}, results {args.results}")
    with tempfile.TemporaryDirectory(prefix="graderq-bench-") as log_dir:
        started = time.monotonic()
        with running_worker(Path(log_dir)) as worker:
            print(
                f"worker bench@{os.uname().nodename}: {CONCURRENCY} processes, "
                f"ready in {time.monotonic() - started:.1f} s"
            )
            warm_up(run_sandbox, args.warmup)
            latency = measure_latency(run_sandbox, args.rounds)
            report_latency(latency, worker_runs(worker, latency.task_ids))
            measure_throughput(run_sandbox, worker, args.jobs, args.passes)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        # The worker is stopped and its log removed by now; _exit skips only Celery's
        # pending AsyncResults unsubscribing noisily while the interpreter shuts down.
        print("interrupted; the worker was stopped", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(130)
