"""Celery's time limits for a task, decided by the worker that runs it.

The soft and hard limits of a sandbox task follow the realtime its sandbox will get
under this worker's defaults and ceilings, never the producer's settings: a worker with
GRADERQ_DEFAULT_LIMITS__REALTIME=20 gives every run that names no realtime 20 s, and
Celery's limits sit a margin above that. A profile's own limits count as well (a
java_run profile's realtime of 10 s gives its tasks 10 s and the margins).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from celery.worker.request import Request

from graderq.errors import LimitError, ProfileError
from graderq.limits import lower_ceilings, merge, profile_defaults
from graderq.profiles import Profile
from graderq.routing import call_arguments
from graderq.settings import Settings, get_settings

SANDBOX_LIMITS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "graderq.run_sandbox": lambda arguments: arguments,
    "graderq.compile_and_run": lambda arguments: arguments.get("compile"),
    "graderq.run_test": lambda arguments: arguments.get("step"),
}
"""Where each task that runs a sandbox itself keeps that sandbox's profile_name and limits."""


def _step_limits(step: Any) -> tuple[Any, str | None]:
    if not isinstance(step, Mapping):
        return None, None
    name = step.get("profile_name")
    return step.get("limits"), name if isinstance(name, str) else None


def _profile(name: str | None) -> Profile | None:
    if name is None:
        return None
    from graderq.engine import get_engine

    try:
        return get_engine().profile(name)
    except ProfileError:
        return None  # the task refuses the request at once, with the full message


def worker_settings(settings: Settings) -> Settings:
    """Workers refuse a realtime that Celery's hard time limit would cut short."""
    cap = settings.task_time_limit - 2 * settings.task_time_margin
    realtime = settings.limit_ceilings.realtime
    if realtime is not None and realtime <= cap:
        return settings
    ceilings = settings.limit_ceilings.model_copy(update={"realtime": cap})
    return settings.model_copy(update={"limit_ceilings": ceilings})


def time_limits(
    limits: Any, settings: Settings, profile: Profile | None = None
) -> tuple[float, float] | None:
    """(hard, soft) seconds for a task whose sandbox asks for `limits` (under `profile`),
    or None (the app's task_time_limit) when the request is bad or its realtime unbounded.
    The soft limit is a margin above the realtime; the hard one another margin above,
    plus the time a result may wait for the result backend (GRADERQ_RESULT_RETRY_FOR)."""
    checked = worker_settings(settings)
    try:
        defaults = profile_defaults(checked.default_limits, profile.limits if profile else None)
        ceilings = lower_ceilings(checked.limit_ceilings, profile.ceilings if profile else None)
        realtime = merge(limits, defaults, ceilings).realtime
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
            step_limits, profile_name = _step_limits(limits_of(arguments))
            limits = time_limits(step_limits, get_settings(), _profile(profile_name))
            if limits is not None:
                self.time_limits = limits
