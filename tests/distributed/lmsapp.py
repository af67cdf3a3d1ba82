"""A stand-in LMS module: its own Celery app, which imports graderq.client, as an LMS
does; its tasks keep what they receive in Redis, for the tests to read."""

from __future__ import annotations

import json
import os

import redis
from celery import Celery

from graderq import client
from graderq.plain_json import jsonable
from graderq.settings import get_settings

app = Celery("lms", broker=get_settings().broker_url)
app.conf.update(
    task_default_queue="lms",
    task_serializer="json",
    accept_content=["json"],
    worker_hijack_root_logger=False,
)
KEPT = "lms-test:"


def keep(key: str, value: object) -> None:
    store = redis.Redis.from_url(os.environ.get("LMS_STORE", get_settings().result_backend))
    store.set(KEPT + key, json.dumps(jsonable(value)), ex=600)


@app.task(name="lms.store_grade")
def store_grade(result: dict, key: str) -> None:
    """A callback: the result first, then the LMS's own arguments."""
    keep(key, result)


@app.task(name="lms.waits_for_a_run")
def waits_for_a_run(key: str, how: str = "run") -> None:
    """What not to do: wait for a graderq result inside a task, with client.run or the
    handle's own get() (of submit, or of graderq.tasks.run_sandbox.delay)."""
    from graderq.tasks import run_sandbox

    try:
        if how == "run":
            client.run("python", "true")
        elif how == "submit":
            client.submit("python", "true").get(timeout=60)
        else:
            run_sandbox.delay("python", "true").get(timeout=60)
    except Exception as exc:
        keep(key, {"error": type(exc).__name__, "message": str(exc)})
    else:
        keep(key, {"error": None})
