"""Celery's time limits for a task, decided by the worker that runs it.

The soft and hard limits of a sandbox task follow the realtime its sandbox will get
under this worker's defaults and ceilings, never the producer's settings: a worker with
GRADERQ_DEFAULT_LIMITS__REALTIME=20 gives every run that names no realtime 20 s, and
Celery's limits sit a margin above that. A profile's own limits count as well (a
java_run profile's realtime of 10 s gives its tasks 10 s and the margins), and so does
every sandbox a task runs: a test's checker after its run, a grading's checker and
interactor compiled before the submission.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from celery.worker.request import Request

from graderq.errors import LimitError, ProfileError
from graderq.limits import lower_ceilings, merge, profile_defaults
from graderq.profiles import Profile
from graderq.queue.routing import call_arguments
from graderq.settings import Settings, get_settings


def _at(value: Any, *path: str) -> Any:
    """value[path[0]][path[1]]..., or None where a level is missing or not a dict."""
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _checker(grading: Any) -> Any:
    """A grading's checker program, if it is one (not a built-in comparator)."""
    return (
        _at(grading, "checker", "program") if _at(grading, "checker", "kind") == "program" else None
    )


SANDBOX_STEPS: dict[str, Callable[[Mapping[str, Any]], list[Any]]] = {
    "graderq.run_sandbox": lambda arguments: [arguments],
    # A grading's compile_and_run may first compile its checker and interactor.
    "graderq.compile_and_run": lambda arguments: [
        arguments.get("compile"),
        _at(_checker(arguments.get("grading")), "compile"),
        _at(arguments, "grading", "interactor", "compile"),
    ],
    # A test's run, then its checker's (an interactor runs beside the submission).
    "graderq.run_test": lambda arguments: [
        arguments.get("step"),
        _checker(arguments.get("grading")),
    ],
}
"""The sandboxes each task runs one after the other, as steps (profile_name, limits);
a None step is one this request does not have."""


def _profile(name: Any) -> Profile | None:
    if not isinstance(name, str):
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


def _realtime(limits: Any, checked: Settings, profile: Profile | None) -> float | None:
    """The realtime a sandbox asking for `limits` (under `profile`) gets from a worker of
    `checked` settings (worker_settings'); None when the request is bad (the task
    refuses it at once, with the full message) or its realtime unbounded."""
    try:
        defaults = profile_defaults(checked.default_limits, profile.limits if profile else None)
        ceilings = lower_ceilings(checked.limit_ceilings, profile.ceilings if profile else None)
        return merge(limits, defaults, ceilings).realtime
    except LimitError:
        return None


def time_limits(
    steps: Sequence[tuple[Any, Profile | None]], settings: Settings
) -> tuple[float, float] | None:
    """(hard, soft) seconds for a task that runs a sandbox per (limits, profile) of
    `steps`, one after the other; None (the app's task_time_limit) if one is bad or
    unbounded. The soft limit is a margin above their realtimes' sum (at most
    GRADERQ_TASK_TIME_LIMIT less the margin); the hard one another margin above, plus
    the time a result may wait for the result backend (GRADERQ_RESULT_RETRY_FOR)."""
    checked = worker_settings(settings)
    total = 0.0
    for limits, profile in steps:
        seconds = _realtime(limits, checked, profile)
        if seconds is None:
            return None
        total += seconds
    margin = settings.task_time_margin
    # Never above GRADERQ_TASK_TIME_LIMIT, which the stop grace periods are sized for.
    total = min(total, settings.task_time_limit - 2 * margin)
    # The hard limit leaves room to store the result through a backend outage too.
    return total + 2 * margin + settings.result_retry_for, total + margin


class WorkerRequest(Request):
    """A task request whose time limits the worker computes from the message itself."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        steps_of = SANDBOX_STEPS.get(self.name)
        if steps_of is None:
            return
        arguments = call_arguments(self.task, self.args, self.kwargs)
        if arguments is not None:
            steps = [
                (_at(step, "limits"), _profile(_at(step, "profile_name")))
                for step in steps_of(arguments)
                if step is not None
            ]
            limits = time_limits(steps, get_settings())
            if limits is not None:
                self.time_limits = limits
