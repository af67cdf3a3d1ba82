"""The worker's time limits: from its own defaults and ceilings, never the producer's."""

from typing import Any

from graderq.limits import Ceilings, Limits
from graderq.profiles import Profile
from graderq.queue.timelimits import SANDBOX_STEPS, time_limits, worker_settings
from graderq.settings import Settings


def settings(**changes: object) -> Settings:
    return Settings(task_time_limit=600, task_time_margin=30, result_retry_for=90, **changes)


def one(limits: Any, settings: Settings, profile: Profile | None = None) -> Any:
    return time_limits([(limits, profile)], settings)


def test_limits_follow_the_realtime_under_the_workers_defaults() -> None:
    assert one(None, settings()) == (5 + 60 + 90, 5 + 30)
    assert one({"cputime": 2}, settings()) == (10 + 60 + 90, 10 + 30)
    assert one({"realtime": 3}, settings()) == (3 + 60 + 90, 3 + 30)
    worker = settings(default_limits=Limits(realtime=20))
    assert one(None, worker) == (20 + 60 + 90, 20 + 30)


def test_unbounded_or_bad_limits_leave_the_apps_task_time_limit() -> None:
    assert one({"realtime": None}, settings()) is None
    assert one({"bogus": 1}, settings()) is None
    assert one({"realtime": 10_000}, settings()) is None  # above the ceiling
    assert time_limits([({"realtime": 3}, None), ({"realtime": None}, None)], settings()) is None


def test_the_workers_realtime_ceiling_fits_under_the_hard_limit() -> None:
    assert worker_settings(settings()).limit_ceilings.realtime == 600 - 60
    low = settings(limit_ceilings=Ceilings(realtime=100))
    assert worker_settings(low).limit_ceilings.realtime == 100


def test_a_profiles_own_limits_count() -> None:
    java = Profile("java_run", "java:17", limits={"cputime": 2})
    assert one(None, settings(), java) == (10 + 60 + 90, 10 + 30)
    assert one({"realtime": 3}, settings(), java) == (3 + 60 + 90, 3 + 30)


def test_every_sandbox_a_task_runs_counts() -> None:
    """A grading's compile_and_run compiles its checker and interactor first; a test's
    checker runs after the test: their realtimes add up."""
    checker = {
        "profile_name": "gcc_run",
        "command": "./checker",
        "limits": {"realtime": 4},
        "compile": {"profile_name": "gcc_compile", "limits": {"realtime": 20}},
    }
    interactor = checker | {"compile": {"profile_name": "gcc_compile", "limits": {"realtime": 7}}}
    grading = {"checker": {"kind": "program", "program": checker}, "interactor": interactor}
    compile_step = {"profile_name": "gcc_compile", "limits": {"realtime": 10}}
    compiles = SANDBOX_STEPS["graderq.compile_and_run"](
        {"compile": compile_step, "grading": grading}
    )
    assert [step["limits"]["realtime"] for step in compiles] == [10, 20, 7]
    steps = [(step["limits"], None) for step in compiles]
    assert time_limits(steps, settings()) == (37 + 60 + 90, 37 + 30)

    test = SANDBOX_STEPS["graderq.run_test"](
        {"step": {"limits": {"realtime": 2}}, "grading": grading}
    )
    assert [step["limits"]["realtime"] for step in test] == [2, 4]
    built_in = {"checker": {"kind": "lines"}}
    assert SANDBOX_STEPS["graderq.run_test"]({"step": {}, "grading": built_in}) == [{}, None]
    long = [({"realtime": 500}, None)] * 3
    assert time_limits(long, settings()) == (600 + 90, 600 - 30)  # the task time limit
    plain = SANDBOX_STEPS["graderq.compile_and_run"]({"compile": compile_step, "grading": None})
    assert plain == [compile_step, None, None]
