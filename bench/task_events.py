"""A Celery worker's own task events, for bench/queue_overhead.py: when each task
started and ended in the worker, and its runtime there.

graderq workers send task events (worker_send_task_events); task-started and
task-succeeded carry the worker's clock and task-succeeded the task's runtime, the
figure Celery logs as "succeeded in".
"""

from __future__ import annotations

import bisect
import threading
import time
from typing import Any, NamedTuple

READY_TIMEOUT = 10.0
EVENT_TIMEOUT = 10.0
"""Seconds a task's events may lag behind its result."""


class TaskRun(NamedTuple):
    """One task in the worker: its start and end (epoch seconds) and its runtime."""

    started: float
    ended: float
    runtime: float


class TaskEvents:
    """The task events of worker `hostname`, received on a thread of their own while
    the context is open (open it before sending the tasks it should see)."""

    def __init__(self, app: Any, hostname: str) -> None:
        self.hostname = hostname
        self._started: dict[str, float] = {}
        self._succeeded: dict[str, tuple[float, float]] = {}
        self._changed = threading.Condition()
        self._ready = threading.Event()
        self._connection = app.connection_for_read()
        handlers = {"task-started": self._on_started, "task-succeeded": self._on_succeeded}
        self._receiver = app.events.Receiver(self._connection, handlers=handlers)
        self._receiver.on_consume_ready = lambda *args, **kwargs: self._ready.set()
        self._thread = threading.Thread(
            target=self._receiver.capture, kwargs={"wakeup": False}, daemon=True
        )

    def __enter__(self) -> TaskEvents:
        self._thread.start()
        if not self._ready.wait(READY_TIMEOUT):
            raise RuntimeError("no event stream from the broker")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._receiver.should_stop = True
        self._thread.join(READY_TIMEOUT)
        self._connection.release()

    def _on_started(self, event: dict[str, Any]) -> None:
        if event.get("hostname") == self.hostname:
            with self._changed:
                self._started[event["uuid"]] = event["timestamp"]
                self._changed.notify_all()

    def _on_succeeded(self, event: dict[str, Any]) -> None:
        if event.get("hostname") == self.hostname:
            with self._changed:
                self._succeeded[event["uuid"]] = (event["timestamp"], event["runtime"])
                self._changed.notify_all()

    def runs(self, task_ids: list[str]) -> list[TaskRun]:
        """The runs of `task_ids`, in that order; a task without events from this worker
        within EVENT_TIMEOUT ran elsewhere: another worker shares the broker queue."""

        def missing() -> list[str]:
            seen = self._started.keys() & self._succeeded.keys()
            return [task_id for task_id in task_ids if task_id not in seen]

        deadline = time.monotonic() + EVENT_TIMEOUT
        with self._changed:
            while (left := missing()) and (wait := deadline - time.monotonic()) > 0:
                self._changed.wait(wait)
            if left:
                raise RuntimeError(
                    f"{len(left)} of {len(task_ids)} tasks did not run in {self.hostname}: "
                    "another worker consumes the same broker queue; give the benchmark a "
                    "Redis database or RabbitMQ vhost of its own"
                )
            return [TaskRun(self._started[t], *self._succeeded[t]) for t in task_ids]


def hand_offs(runs: list[TaskRun]) -> list[float]:
    """For each task, the time from the latest end of a task before its start to that
    start: how long the worker takes to give a freed pool process its next task."""
    ends = sorted(run.ended for run in runs)
    gaps = []
    for run in runs:
        before = bisect.bisect_right(ends, run.started)
        if before:
            gaps.append(run.started - ends[before - 1])
    return gaps
