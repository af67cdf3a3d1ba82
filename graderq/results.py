"""The result backend: Redis, made to outlast an outage of the result store.

A worker that cannot store a result keeps trying, with backoff, for
GRADERQ_RESULT_RETRY_FOR seconds; then its pool process exits, so that the worker
requeues the task (task_reject_on_worker_lost) rather than acking it with its result
lost. The sandbox then runs again once Redis is back: a grading is repeatable.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import redis
from billiard.process import current_process
from celery.backends.redis import RedisBackend
from celery.exceptions import BackendStoreError, SoftTimeLimitExceeded

from graderq.settings import get_settings

log = logging.getLogger("graderq.results")

STORE_ERRORS = (BackendStoreError, redis.RedisError, ConnectionError, TimeoutError)
EX_TEMPFAIL = 75
"""A pool process's exit code when it gave up storing a result (sysexits' EX_TEMPFAIL)."""


def backend_url(url: str) -> str:
    """The result_backend setting for `url`: graderq's store for Redis URLs."""
    scheme = url.partition("://")[0]
    return f"graderq.results:ResultStore+{url}" if scheme in ("redis", "rediss") else url


class ResultStore(RedisBackend):
    """Celery's Redis backend whose stores are retried through an outage."""

    def store_result(self, task_id: str, result: Any, state: str, *args: Any, **kwargs: Any) -> Any:
        patience = get_settings().result_retry_for
        deadline = time.monotonic() + patience
        pause = 0.5
        while True:
            try:
                try:
                    return super().store_result(task_id, result, state, *args, **kwargs)
                except STORE_ERRORS as exc:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        give_up(task_id, state, patience, exc)
                        raise
                    log.warning("result of %s not stored (%s); trying again", task_id, exc)
                    time.sleep(min(pause, left))
                    pause = min(pause * 2, 10.0)
            except SoftTimeLimitExceeded:
                continue  # Celery's soft limit fell while Redis was away: the task is done


def give_up(task_id: str, state: str, patience: float, exc: BaseException) -> None:
    """In a pool process: exit, so that the worker requeues the task."""
    log.error(
        "result %s of %s not stored within %.0f s (%s); requeuing the task",
        state,
        task_id,
        patience,
        exc,
    )
    if current_process().name != "MainProcess":
        logging.shutdown()
        os._exit(EX_TEMPFAIL)
