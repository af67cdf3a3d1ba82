"""What the Celery queue adds to a sandbox run: latency overhead and throughput ratio.

One run starts its own `celery -A graderq worker -c 2` on Redis databases of its own
(flushed first; refused while other clients use them), measures, and stops the worker
again, also on errors, Ctrl-C and SIGTERM. The worker's own task events (Celery's
task-started and task-succeeded) give each task's runtime in the worker.

- latency: `graderq.run(PROFILE, COMMAND)` in this process against
  `run_sandbox.delay(PROFILE, COMMAND).get()`, interleaved; the queue's overhead is the
  median of the rounds' differences (target below LATENCY_TARGET_MS).
- throughput: N tiny jobs through the worker's 2 processes (submit all, then get all)
  against 2 threads doing docker-py's bare create/start/wait/remove with the create
  body graderq builds for the run (target at least THROUGHPUT_TARGET times the bare
  rate), and against 2 threads calling graderq.run, which tells the engine's cost from
  the queue's; the phases are interleaved and their medians compared.

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
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from floor import bare_run, graderq_body
from harness import interleave, ms, summary, table, use_databases, worker
from task_events import TaskEvents, hand_offs

import graderq

PROFILE, COMMAND = "python", "true"
CONCURRENCY = 2
LATENCY_TARGET_MS = 15.0
"""The queue may add at most this many milliseconds to the median run."""
THROUGHPUT_TARGET = 0.9
"""The queue's jobs/s must be at least this multiple of the bare docker-py rate."""
RESULT_TIMEOUT = 120.0


class Queued(NamedTuple):
    """One queued run: its seconds, those of its publish, its task id."""

    total: float
    published: float
    task_id: str


class Phase(NamedTuple):
    """One throughput phase: its rate and each job's own time."""

    rate: float
    job_times: list[float]
    hand_offs: tuple[float, ...] = ()


def check(result: dict[str, Any], what: str) -> None:
    if result.get("exit_code") != 0:
        raise RuntimeError(f"{what} failed: {result!r}")


def local_run() -> float:
    started = time.perf_counter()
    check(graderq.run(PROFILE, COMMAND), "graderq.run")
    return time.perf_counter() - started


def queued_run(run_sandbox: Any) -> Queued:
    started = time.perf_counter()
    pending = run_sandbox.delay(PROFILE, COMMAND)
    published = time.perf_counter()
    check(pending.get(timeout=RESULT_TIMEOUT), "run_sandbox")
    return Queued(time.perf_counter() - started, published - started, pending.id)


def warm_up(run_sandbox: Any, rounds: int) -> None:
    """Every worker process makes its engine; this process makes its own."""
    for _ in range(rounds):
        local_run()
        for result in [run_sandbox.delay(PROFILE, COMMAND) for _ in range(2 * CONCURRENCY)]:
            check(result.get(timeout=RESULT_TIMEOUT), "run_sandbox")


def report_latency(local: list[float], queued: list[Queued], events: TaskEvents) -> None:
    """The latency table and the queue's overhead: the median of the rounds' differences
    (queued minus local), which round-to-round drift cannot skew."""
    total = [q.total for q in queued]
    in_worker = [run.runtime for run in events.runs([q.task_id for q in queued])]

    def minus(a: list[float], b: list[float]) -> list[float]:
        return [x - y for x, y in zip(a, b, strict=True)]

    rows = {
        "graderq.run (this process)": local,
        "run_sandbox.delay().get()": total,
        "  of which delay() (publish)": [q.published for q in queued],
        "  of which the task in the worker": in_worker,
        "queued - local, per round": minus(total, local),
        "  queued - its task in the worker": minus(total, in_worker),
        "  its task in the worker - local": minus(in_worker, local),
    }
    print(f"\nlatency of {PROFILE} {COMMAND!r}, {len(local)} interleaved rounds (ms)")
    table(["", "median", "p90"], [[name, *summary(v)] for name, v in rows.items()], indent="  ")
    overhead = statistics.median(rows["queued - local, per round"]) * 1000
    gap = (statistics.median(total) - statistics.median(local)) * 1000
    verdict = "PASS" if overhead < LATENCY_TARGET_MS else "FAIL"
    print(f"  difference of the medians: {gap:.1f} ms")
    target = f"target < {LATENCY_TARGET_MS:.0f} ms"
    print(f"  queue overhead (median per round): {overhead:.1f} ms ({target}) {verdict}")


@contextmanager
def threaded(make_job: Callable[[], Callable[[], None]]) -> Iterator[Callable[[int], Phase]]:
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


def bare_job() -> Callable[[], None]:
    """docker-py's bare create/start/wait/remove of the run's container (floor.py)."""
    import docker

    api = docker.APIClient(**docker.utils.kwargs_from_env())
    engine = graderq.get_engine()

    def job() -> None:
        bare_run(api, graderq_body(engine, PROFILE, COMMAND))

    return job


def engine_job() -> Callable[[], None]:
    """graderq.run on an engine (and Docker connection) of the thread's own."""
    engine = graderq.Engine()
    return lambda: check(engine.run(PROFILE, COMMAND), "Engine.run")


def queue_phase(run_sandbox: Any, events: TaskEvents, jobs: int) -> Phase:
    """Submit `jobs` runs, then get every result; the tasks' runtimes are the job times."""
    started = time.perf_counter()
    pending = [run_sandbox.delay(PROFILE, COMMAND) for _ in range(jobs)]
    for result in pending:
        check(result.get(timeout=RESULT_TIMEOUT), "run_sandbox")
    rate = jobs / (time.perf_counter() - started)
    runs = events.runs([result.id for result in pending])
    return Phase(rate, [run.runtime for run in runs], tuple(hand_offs(runs)))


def measure_throughput(run_sandbox: Any, events: TaskEvents, jobs: int, passes: int) -> None:
    """Interleave bare, engine and queued phases; print them and the ratios of medians.

    "busy" is the share of the phase its runners (threads, worker processes) spent in
    jobs; "job ms" is one job's median time in its runner (for the queue, the task's
    runtime in the worker).
    """
    print(f"\nthroughput of {jobs} jobs of {PROFILE} {COMMAND!r} at concurrency {CONCURRENCY}")
    with threaded(bare_job) as bare, threaded(engine_job) as engine:
        runners = {"bare docker-py": bare, "graderq.run": engine}
        runners["run_sandbox queue"] = lambda jobs: queue_phase(run_sandbox, events, jobs)
        phases = interleave({name: partial(run, jobs) for name, run in runners.items()}, passes)
    rows = []
    for number, row in enumerate(zip(*phases.values(), strict=True), 1):
        for name, phase in zip(phases, row, strict=True):
            busy = sum(phase.job_times) * phase.rate / (len(phase.job_times) * CONCURRENCY)
            job = ms(statistics.median(phase.job_times))
            ratio = f"{phase.rate / row[0].rate:.2f}"
            rows.append([name, str(number), f"{phase.rate:.2f}", f"{busy:.0%}", job, ratio])
    table(["phase", "pass", "jobs/s", "busy", "job ms", "/ bare"], rows, indent="  ")
    bare_rate, engine_rate, queue_rate = (
        statistics.median(phase.rate for phase in column) for column in phases.values()
    )
    gaps = [gap for phase in phases["run_sandbox queue"] for gap in phase.hand_offs]
    if gaps:
        median, p90 = summary(gaps)
        print(f"  worker hand-off, a task's end to the next start: median {median}, p90 {p90} ms")
    engine_share, queue_share = engine_rate / bare_rate, queue_rate / engine_rate
    print(f"  graderq.run / bare: {engine_share:.2f}x; queue / graderq.run: {queue_share:.2f}x")
    ratio = queue_rate / bare_rate
    verdict = "PASS" if ratio >= THROUGHPUT_TARGET else "FAIL"
    print(f"  queue / bare (medians): {ratio:.3f}x (target >= {THROUGHPUT_TARGET}x) {verdict}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=60, help="jobs per throughput phase")
    parser.add_argument("--rounds", type=int, default=30, help="latency rounds")
    parser.add_argument("--passes", type=int, default=3, help="throughput phases of each kind")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured warm-up rounds")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/12", help="broker URL")
    parser.add_argument("--results", default="redis://127.0.0.1:6379/13", help="result backend")
    args = parser.parse_args(argv)
    if args.rounds < 2 or args.passes < 1 or args.jobs < 1:
        parser.error("need --rounds >= 2, --passes >= 1 and --jobs >= 1")
    # SIGTERM unwinds like Ctrl-C, so the worker is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    use_databases(args.broker, args.results)
    from graderq.queue.app import app
    from graderq.queue.tasks import run_sandbox

    print(f"broker {args.broker}, results {args.results}")
    with tempfile.TemporaryDirectory(prefix="graderq-bench-") as log_dir:
        started = time.monotonic()
        with worker("bench", Path(log_dir) / "worker.log", CONCURRENCY) as bench:
            ready = time.monotonic() - started
            print(f"worker {bench.hostname}: {CONCURRENCY} processes, ready in {ready:.1f} s")
            with TaskEvents(app, bench.hostname) as events:
                warm_up(run_sandbox, args.warmup)
                contenders = {"local": local_run, "queued": lambda: queued_run(run_sandbox)}
                times = interleave(contenders, args.rounds)
                report_latency(times["local"], times["queued"], events)
                measure_throughput(run_sandbox, events, args.jobs, args.passes)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        # The worker is stopped and its log removed by now; _exit skips only Celery's
        # pending AsyncResults unsubscribing noisily while the interpreter shuts down.
        print("interrupted; the worker was stopped", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(130)
