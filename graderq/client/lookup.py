"""Results by id and a grading's progress: what a producer asks of a task it sent.

Celery reports PENDING for an id it never saw as for one still queued; graderq records
every id it issues (graderq.queue.records), so `result` tells the two apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from celery import states
from celery.exceptions import ChordError
from celery.result import AsyncResult

from graderq.errors import RequestError, UnknownTask
from graderq.queue import records
from graderq.queue.app import app
from graderq.queue.tasks import PROGRESS
from graderq.queue.unavailable import reachable
from graderq.settings import get_settings

TASK_ID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
CHORD_DEPENDENCY = re.compile(r"Dependency ([0-9a-fA-F-]{36}) raised")


def result(task_id: str) -> Any:
    """The result of a task graderq issued: its value when ready, None while pending;
    the task's own error if it failed, UnknownTask for an id never issued or expired."""
    if not isinstance(task_id, str) or not TASK_ID.match(task_id):
        raise RequestError(f"{task_id!r} is not a task id (a UUID as str)")
    with reachable():
        handle = AsyncResult(task_id, app=app)
        state, value = handle.state, handle.result
        issued = state != states.PENDING or records.was_issued(task_id)
    if state == states.SUCCESS:
        return value
    if state in states.PROPAGATE_STATES:
        raise (
            run_error(value)
            if isinstance(value, BaseException)
            else UnknownTask(f"task {task_id} ended in state {state}")
        )
    if not issued:
        raise UnknownTask(
            f"graderq never issued task {task_id}, or its result has expired "
            f"(results are kept {get_settings().result_expires:.0f} s)"
        )
    return None


def run_error(error: BaseException) -> BaseException:
    """The error of the run that failed a grading, rather than Celery's ChordError."""
    found = CHORD_DEPENDENCY.search(str(error)) if isinstance(error, ChordError) else None
    if found is not None:
        inner = AsyncResult(found.group(1), app=app).result
        if isinstance(inner, BaseException):
            return inner
    return error


def progress(handle: AsyncResult) -> tuple[int, int] | None:
    """(runs done, runs in all) of a grading or compile_and_run, once its runs have
    started (None before: it is compiling)."""
    root = handle.parent if handle.parent is not None else handle
    state, info = root.state, root.info
    if state == states.SUCCESS and isinstance(info, Mapping) and "runs" in info:
        total = len(info["runs"]) + info.get("skipped", 0)
        return total, total
    if state != PROGRESS or not isinstance(info, Mapping):
        return None
    ids = info.get("runs") or []
    backend = app.backend
    stored = backend.mget([backend.get_key_for_task(task_id) for task_id in ids])
    done = sum(
        1
        for value in stored
        if value is not None and backend.decode_result(value)["status"] in states.READY_STATES
    )
    return done, len(ids)
