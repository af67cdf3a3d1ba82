"""Waiting for graderq results, and never inside a task of another Celery app.

A wait inside a task blocks a worker slot of the LMS until the grading ends (and
Celery refuses it with a bare RuntimeError). Every handle graderq gives out is a
Handle, whose `get()` says instead what to do; `client.run`, `client.wait` and
`client.working_directory` check the same.
"""

from __future__ import annotations

from typing import Any

from celery.exceptions import TimeoutError as CeleryTimeout
from celery.result import AsyncResult, task_join_will_block

from graderq.errors import ResultTimeout, WaitInsideTask

INSIDE_TASK = (
    "graderq results must not be waited for inside a Celery task (it would block a worker "
    "slot until the grading ends); pass callback= (your app's signature or a URL) to "
    "submit, compile_and_run or grade, or store result.id and call graderq.client.result(id) "
    "later"
)


def not_inside_a_task() -> None:
    """Raise WaitInsideTask if this thread runs a Celery task (of any app)."""
    if task_join_will_block():
        raise WaitInsideTask(INSIDE_TASK)


class Handle(AsyncResult):
    """The AsyncResult of graderq's app: `get()` inside a task raises WaitInsideTask,
    and past its timeout ResultTimeout (a GraderqError, and Celery's TimeoutError)."""

    def get(self, *args: Any, **kwargs: Any) -> Any:
        not_inside_a_task()
        try:
            return super().get(*args, **kwargs)
        except ResultTimeout:
            raise
        except CeleryTimeout as exc:
            raise ResultTimeout(str(exc) or "no result within the timeout") from None

    wait = get  # Celery's alias, which would skip the check above
