"""The result backend: Redis, made to outlast an outage of the result store.

A worker that cannot store a result (or read one, as it does to skip a redelivered task
that finished already) keeps trying, with backoff, for GRADERQ_RESULT_RETRY_FOR
seconds; then its pool process exits, so that the worker requeues the task
(task_reject_on_worker_lost) rather than acking it with its result lost. The sandbox
then runs again once Redis is back: a grading is repeatable.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from billiard.process import current_process
from celery.backends.redis import RedisBackend
from celery.exceptions import BackendStoreError, SoftTimeLimitExceeded

from graderq.settings import get_settings

log = logging.getLogger("graderq.results")

STORE_ERRORS = (BackendStoreError, redis.RedisError, ConnectionError, TimeoutError)
EX_TEMPFAIL = 75
"""A pool process's exit code when it gave up on the result backend (EX_TEMPFAIL)."""
T = TypeVar("T")


def backend_url(url: str) -> str:
    """The result_backend setting for `url`: graderq's store for Redis URLs."""
    scheme = url.partition("://")[0]
    return f"graderq.queue.results:ResultStore+{url}" if scheme in ("redis", "rediss") else url


class ResultStore(RedisBackend):
    """Celery's Redis backend whose stores and reads are retried through an outage."""

    def store_result(self, task_id: str, result: Any, state: str, *args: Any, **kwargs: Any) -> Any:
        store = super().store_result
        return patiently(lambda: store(task_id, result, state, *args, **kwargs), task_id, state)

    def _get_task_meta_for(self, task_id: str) -> Any:
        read = super()._get_task_meta_for
        return patiently(lambda: read(task_id), task_id, "read")


def patiently(action: Callable[[], T], task_id: str, what: str) -> T:
    """`action()`, tried again with backoff while the result backend is away; past
    GRADERQ_RESULT_RETRY_FOR a pool process exits (its task is requeued). Elsewhere (a
    producer, a worker's main process) it is tried once: they have callers to tell."""
    if not in_pool_process():
        return action()
    patience = get_settings().result_retry_for
    deadline = time.monotonic() + patience
    pause = 0.5
    while True:
        try:
            try:
                return action()
            except STORE_ERRORS as exc:
                left = deadline - time.monotonic()
                if left <= 0:
                    give_up(task_id, what, patience, exc)
                    raise
                log.warning("result %s of %s failed (%s); trying again", what, task_id, exc)
                time.sleep(min(pause, left))
                pause = min(pause * 2, 10.0)
        except SoftTimeLimitExceeded:
            continue  # Celery's soft limit fell while Redis was away: the task is done


def give_up(task_id: str, what: str, patience: float, exc: BaseException) -> None:
    """Exit this pool process, so that the worker requeues the task."""
    log.error(
        "result %s of %s failed for %.0f s (%s); requeuing the task", what, task_id, patience, exc
    )
    logging.shutdown()
    os._exit(EX_TEMPFAIL)


def in_pool_process() -> bool:
    return current_process().name != "MainProcess"
