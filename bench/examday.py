"""Exam day: one course's burst, another's steady trickle, a worker killed, Redis restarted.

    .venv/bin/python bench/examday.py [--burst 2000] [--duration 1200] [--outage 5] [--quick]

On a Redis server of its own (port 6399, append-only as in docker-compose.yml) and two
`celery -A graderq worker -c 2` processes with production defaults: course A submits
--burst tasks at once (tenant "course-a", `echo N` sandboxes) while course B submits one
a second (tenant "course-b"). Once half of A's burst is submitted, Redis is stopped and
started again --outage seconds later; once a quarter of A's results are in, worker w1 is
SIGKILLed (its whole process group) and restarted at once, as a process manager would.
Producers retry a submit refused with BackendUnavailable after a second's pause; a task
is accepted once its submit returned.

Prints: lost (accepted, no result by the end), failed or wrong output, duplicated
(graderq's delivery counter above 1 for a task the dead worker did not hold), B's p50/p99
latency (submit to result stored), the recovery from the kill (SIGKILL until every task
unacked at the kill has its result) and throughput. It stops by itself: --duration bounds
the exam, then --grace bounds the wait for the last results. --quick: a 300-task smoke run
(about 100 s: the killed worker's tasks come back after the 60 s visibility timeout).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import quantile, table, use_databases

from graderq.queue.launcher import start_worker

sys.path.append(str(Path(__file__).resolve().parents[1]))  # for the tests' RedisServer
from tests.distributed.servers import RedisServer

PORT = 6399


TENANTS = ("course-a", "course-b")


class Exam:
    """What the producers, the collector and the clock share."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.accepted: dict[str, tuple[str, int, float]] = {}  # id: tenant, n, submitted
        self.results: dict[str, dict] = {}  # id: its stored meta
        self.refused = dict.fromkeys(TENANTS, 0)
        self.submitted_a = 0
        self.last_result = time.time()
        self.trickling = threading.Event()
        self.collecting = threading.Event()

    def submit(self, tenant: str, n: int) -> None:
        from graderq import client
        from graderq.errors import BackendUnavailable

        while time.time() < self.deadline:
            started = time.time()
            try:
                handle = client.submit("python", f"echo {n}", tenant=tenant)
            except BackendUnavailable:
                self.refused[tenant] += 1
                time.sleep(1)
                continue
            self.accepted[handle.id] = (tenant, n, started)
            return

    def burst(self, count: int) -> None:
        for n in range(count):
            self.submit("course-a", n)
            self.submitted_a += 1

    def trickle(self) -> None:
        due, n = time.time(), 0
        while self.trickling.is_set() and time.time() < self.deadline:
            time.sleep(max(0.0, due - time.time()))
            self.submit("course-b", n)
            due, n = due + 1, n + 1

    def collect(self) -> None:
        from graderq.errors import BackendUnavailable
        from graderq.queue.app import app
        from graderq.queue.unavailable import reachable

        backend = app.backend
        while self.collecting.is_set():
            time.sleep(0.5)
            pending = [task for task in list(self.accepted) if task not in self.results]
            try:
                with reachable():
                    raw = backend.mget([backend.get_key_for_task(task) for task in pending])
            except BackendUnavailable:
                continue
            for task, value in zip(pending, raw, strict=True):
                meta = backend.decode_result(value) if value else None
                if meta and meta["status"] in ("SUCCESS", "FAILURE"):
                    self.results[task] = meta
                    self.last_result = time.time()

    def done(self, tenant: str) -> int:
        return sum(self.accepted[task][0] == tenant for task in list(self.results))

    def burst_done(self, burst: int) -> bool:
        return self.submitted_a == burst and self.done("course-a") == burst

    def until(self, condition: Callable[[], bool], deadline: float, stall: float) -> None:
        """Wait for `condition`, at most until `deadline` or `stall` s without a result."""
        while not condition() and time.time() < min(deadline, self.last_result + stall):
            time.sleep(0.2)


def quiet(consumer: Any) -> None:
    """Stop the producer's result subscription before Redis goes: AsyncResult finalisers
    (of every thread's backend) would otherwise unsubscribe from a server that is gone,
    printing tracebacks as the interpreter exits."""
    consumer.stop()
    consumer._pubsub = None
    type(consumer).cancel_for = lambda self, task_id: None


def stored_at(meta: dict) -> float:
    done = datetime.fromisoformat(meta["date_done"])
    return (done if done.tzinfo else done.replace(tzinfo=UTC)).timestamp()


@dataclass
class Timeline:
    """When the exam's events happened (time.time()), and the tasks held at the kill."""

    began: float
    restarted: float = 0.0
    killed: float = 0.0
    ended: float = 0.0
    held: set[str] = field(default_factory=set)


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=2000, help="course A's tasks")
    parser.add_argument("--duration", type=float, default=1200, help="most seconds of exam")
    parser.add_argument("--grace", type=float, default=150, help="most seconds without a result")
    parser.add_argument("--outage", type=float, default=5, help="seconds Redis stays down")
    parser.add_argument("--quick", action="store_true", help="a smoke run of 300 tasks")
    parsed = parser.parse_args()
    if parsed.quick:
        parsed.burst, parsed.duration = 300, 300
    return parsed


def run(
    exam: Exam, opts: argparse.Namespace, server: RedisServer, workers: list, logs: Path
) -> Timeline:
    """The exam: A's burst and B's trickle, Redis restarted midway, worker a killed."""
    import redis

    timeline = Timeline(time.time())
    exam.trickling.set()
    exam.collecting.set()
    targets = ((exam.burst, (opts.burst,)), (exam.trickle, ()), (exam.collect, ()))
    threads = [threading.Thread(target=target, args=args) for target, args in targets]
    for thread in threads:
        thread.start()
    exam.until(lambda: exam.submitted_a >= opts.burst // 2, exam.deadline, opts.grace)
    timeline.restarted = time.time()
    server.stop()
    time.sleep(opts.outage)
    server.start()
    exam.until(lambda: exam.done("course-a") >= opts.burst // 4, exam.deadline, opts.grace)
    unacked = redis.Redis(port=PORT, db=0).hvals("unacked")
    timeline.held = {json.loads(value)[0]["headers"]["id"] for value in unacked}
    timeline.killed = time.time()
    workers[0].kill()  # SIGKILL of its process group; restarted at once
    workers[0] = start_worker("a", logs / "graderq-examday-a-again.log")
    exam.until(lambda: exam.burst_done(opts.burst), exam.deadline, opts.grace)
    exam.trickling.clear()
    threads[1].join()
    exam.until(
        lambda: len(exam.results) == len(exam.accepted), time.time() + opts.grace, opts.grace
    )
    exam.collecting.clear()
    for thread in threads:
        thread.join()
    timeline.ended = time.time()
    return timeline


def main() -> None:
    opts = options()
    directory = Path(tempfile.mkdtemp(prefix="graderq-examday-"))
    server = RedisServer(PORT, directory)
    logs = Path(tempfile.gettempdir())
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, directory, ignore_errors=True)
        server.start()
        stack.callback(server.stop)
        use_databases(f"{server.url}/0", f"{server.url}/1")
        import redis

        from graderq import client, keys  # noqa: F401  (imported once, before the threads)
        from graderq.queue.app import app

        stack.callback(quiet, app.backend.result_consumer)
        workers = [start_worker(name, logs / f"graderq-examday-{name}.log") for name in "ab"]
        stack.callback(lambda: [w.stop() for w in workers])
        exam = Exam(time.time() + opts.duration)
        timeline = run(exam, opts, server, workers, logs)
        ids = list(exam.accepted)
        values = (
            redis.Redis(port=PORT, db=1).mget([keys.DELIVERIES + t for t in ids]) if ids else []
        )
        counts = {task: int(value or 0) for task, value in zip(ids, values, strict=True)}
    report(exam, opts, counts, timeline)


def faults(
    exam: Exam, counts: dict[str, int], held: set[str]
) -> tuple[list[str], list[str], list[str], list[str]]:
    """The tasks lost, failed or wrong, started twice though not held at the kill, and
    started again after it (held at the kill)."""
    lost = [task for task in exam.accepted if task not in exam.results]
    wrong = [
        task
        for task, meta in exam.results.items()
        if meta["status"] != "SUCCESS"
        or meta["result"]["stdout"] != f"{exam.accepted[task][1]}\n".encode()
    ]
    twice = [task for task, count in counts.items() if count > 1 and task not in held]
    again = [task for task, count in counts.items() if count > 1 and task in held]
    return lost, wrong, twice, again


def report(
    exam: Exam, options: argparse.Namespace, counts: dict[str, int], timeline: Timeline
) -> None:
    """Print the exam's figures; exit 1 if a task was lost, wrong, duplicated or never
    came back from the kill."""
    began, killed, held = timeline.began, timeline.killed, timeline.held

    def of(tenant: str) -> list[str]:
        return [task for task, (owner, _, _) in exam.accepted.items() if owner == tenant]

    lost, wrong, twice, again = faults(exam, counts, held)
    latencies = [
        stored_at(exam.results[task]) - exam.accepted[task][2]
        for task in of("course-b")
        if task in exam.results
    ]
    back = [stored_at(exam.results[task]) for task in held if task in exam.results]
    recovery = f"{max(back) - killed:.1f}" if len(back) == len(held) else "never"
    a_done = [stored_at(exam.results[task]) for task in of("course-a") if task in exam.results]
    every = [stored_at(meta) for meta in exam.results.values()]

    def rate(times: list[float]) -> float:
        return len(times) / (max(times) - began) if times else 0.0

    print(
        f"exam of {timeline.ended - began:.0f} s: course A burst {options.burst} tasks, course "
        f"B one a second, 2 workers x 2; Redis restarted at +{timeline.restarted - began:.0f} s "
        f"({options.outage:g} s down); worker a SIGKILLed at +{killed - began:.0f} s "
        f"({len(held)} tasks unacked, both workers'), restarted at once"
    )
    rows = [
        ["accepted, A / B", f"{len(of('course-a'))} / {len(of('course-b'))}"],
        ["refused (BackendUnavailable), A / B", " / ".join(str(exam.refused[t]) for t in TENANTS)],
        ["lost (accepted, no result)", str(len(lost))],
        ["failed or wrong output", str(len(wrong))],
        ["duplicated (started twice, not held at the kill)", str(len(twice))],
        ["redelivered after the kill (held at the kill)", str(len(again))],
        [
            "B latency p50 / p99 / max, s",
            " / ".join(f"{quantile(latencies, q):.1f}" for q in (0.5, 0.99, 1))
            if latencies
            else "-",
        ],
        ["recovery from the kill, s", recovery],
        ["throughput, A / all, tasks/s", f"{rate(a_done):.2f} / {rate(every):.2f}"],
    ]
    table(["(latency: submit to result stored)", ""], rows, indent="  ")
    for task in (lost + wrong + twice)[:10]:
        print(
            "   ",
            task,
            exam.accepted[task],
            counts.get(task),
            exam.results.get(task, {}).get("status"),
        )
    ok = not lost and not wrong and not twice and recovery != "never"
    print("PASS" if ok else "FAIL")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
