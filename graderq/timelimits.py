"""Celery's time limits for a task, decided by the worker that runs it.

The soft and hard limits of a sandbox task follow the realtime its sandbox will get
under this worker's defaults and ceilings, never the producer's settings: a worker with
GRADERQ_DEFAULT_LIMITS__REALTIME=20 gives every run that names no realtime 20 s, and
Celery's limits sit a margin above that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from celery.worker.request import Request

from graderq.errors import LimitError
from graderq.limits import merge
from graderq.routing import call_arguments
from graderq.settings import Settings, get_settings

SANDBOX_LIMITS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "graderq.run_sandbox": lambda arguments: arguments.get("limits"),
    "graderq.compile_and_run": lambda arguments: _step_limits(arguments.get("compile")),
    "graderq.run_test": lambda arguments: _step_limits(arguments.get("step")),
}
"""Where each task that runs a sandbox itself keeps that sandbox's limits."""


def _step_limits(step: Any) -> Any:
    return step.get("limits") if isinstance(step, Mapping) else None


def worker_settings(settings: Settings) -> Settings:
    """Workers refuse a realtime that Celery's hard time limit would cut short."""
    cap = settings.task_time_limit - 2 * settings.task_time_margin
    realtime = settings.limit_ceilings.realtime
    if realtime is not None and realtime <= cap:
        return settings
    ceilings = settings.limit_ceilings.model_copy(update={"realtime": cap})
    return settings.model_copy(update={"limit_ceilings": ceilings})


def time_limits(limits: Any, settings: Settings) -> tuple[float, float] | None:
    """(hard, soft) seconds for a task whose sandbox asks for `limits`, or None (the
    app's task_time_limit) when the request is bad or its realtime unbounded. The soft
    limit is a margin above the realtime; the hard one another margin above, plus the
    time a result may wait for the result backend (GRADERQ_RESULT_RETRY_FOR)."""
    checked = worker_settings(settings)
    try:
        realtime = merge(limits, checked.default_limits, checked.limit_ceilings).realtime
    except LimitError:
        return None  # the task refuses the request at once, with the full message
    if realtime is None:
        return None
    margin = settings.task_time_margin
    # The hard limit leaves room to store the result through a backend outage too.
    return realtime + 2 * margin + settings.result_retry_for, realtime + margin


class WorkerRequest(Request):
    """A task request whose time limits the worker computes from the message itself."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits_of = SANDBOX_LIMITS.get(self.name)
        if limits_of is None:
            return
        arguments = call_arguments(self.task, self.args, self.kwargs)
        if arguments is not None:
            limits = time_limits(limits_of(arguments), get_settings())
            if limits is not None:
                self.time_limits = limits
