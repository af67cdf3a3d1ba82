"""The worker's time limits: from its own defaults and ceilings, never the producer's."""

from graderq.limits import Ceilings, Limits
from graderq.profiles import Profile
from graderq.settings import Settings
from graderq.timelimits import time_limits, worker_settings


def settings(**changes: object) -> Settings:
    return Settings(task_time_limit=600, task_time_margin=30, result_retry_for=90, **changes)


def test_limits_follow_the_realtime_under_the_workers_defaults() -> None:
    assert time_limits(None, settings()) == (5 + 60 + 90, 5 + 30)
    assert time_limits({"cputime": 2}, settings()) == (10 + 60 + 90, 10 + 30)
    assert time_limits({"realtime": 3}, settings()) == (3 + 60 + 90, 3 + 30)
    worker = settings(default_limits=Limits(realtime=20))
    assert time_limits(None, worker) == (20 + 60 + 90, 20 + 30)


def test_unbounded_or_bad_limits_leave_the_apps_task_time_limit() -> None:
    assert time_limits({"realtime": None}, settings()) is None
    assert time_limits({"bogus": 1}, settings()) is None
    assert time_limits({"realtime": 10_000}, settings()) is None  # above the ceiling


def test_the_workers_realtime_ceiling_fits_under_the_hard_limit() -> None:
    assert worker_settings(settings()).limit_ceilings.realtime == 600 - 60
    low = settings(limit_ceilings=Ceilings(realtime=100))
    assert worker_settings(low).limit_ceilings.realtime == 100


def test_a_profiles_own_limits_count() -> None:
    java = Profile("java_run", "java:17", limits={"cputime": 2})
    assert time_limits(None, settings(), java) == (10 + 60 + 90, 10 + 30)
    assert time_limits({"realtime": 3}, settings(), java) == (3 + 60 + 90, 3 + 30)
