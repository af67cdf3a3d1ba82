"""Worker-side wiring: this host's identity and queue, delivery counting, the janitor.

Everything here runs inside `celery -A graderq worker`; producers never call it.
"""

from __future__ import annotations

import logging
import threading
from functools import cache
from typing import Any

import redis
from celery import signals

from graderq import keys
from graderq.engine import Engine
from graderq.errors import GraderqError
from graderq.routing import node_queue
from graderq.sandbox import DockerBackend
from graderq.sandbox.janitor import sweep
from graderq.settings import Settings, get_settings

log = logging.getLogger("graderq.worker")

HEARTBEAT_EVERY = 5.0
"""Seconds between a worker's heartbeats; a node is gone after three missed."""


class TooManyDeliveries(GraderqError):
    """The task was started too many times (each start killed its worker?); not run again."""


def worker_settings(settings: Settings) -> Settings:
    """Workers refuse a realtime that Celery's hard time limit would cut short."""
    cap = settings.task_time_limit - 2 * settings.task_time_margin
    realtime = settings.limit_ceilings.realtime
    if realtime is not None and realtime <= cap:
        return settings
    ceilings = settings.limit_ceilings.model_copy(update={"realtime": cap})
    return settings.model_copy(update={"limit_ceilings": ceilings})


@cache
def worker_engine() -> Engine:
    """This worker process's engine (made after the fork, never shared by processes)."""
    return Engine(settings=worker_settings(get_settings()))


@cache
def current_node() -> str:
    """The identity of the Docker host this worker runs sandboxes on."""
    settings = get_settings()
    if settings.node:
        return settings.node
    return DockerBackend.from_settings(settings).node_id()


@cache
def redis_client() -> redis.Redis:
    """The result backend's Redis, for graderq's own keys."""
    return redis.Redis.from_url(get_settings().result_backend)


def count_delivery(task_id: str, retries: int = 0) -> None:
    """Count a start of attempt `retries` of `task_id`; refuse it past max_deliveries.

    Deliberate retries are new attempts with their own count; only deliveries of the
    same attempt (after a worker died holding it) add up.
    """
    settings = get_settings()
    key = keys.DELIVERIES + task_id + (f":{retries}" if retries else "")
    client = redis_client()
    with client.pipeline() as pipe:
        count, _ = pipe.incr(key).expire(key, int(settings.result_expires)).execute()
    if count > settings.max_deliveries:
        raise TooManyDeliveries(
            f"task {task_id} was delivered {count} times (the limit is "
            f"{settings.max_deliveries}); it is not run again"
        )


def heartbeat(node: str) -> None:
    redis_client().set(keys.NODE_HEARTBEAT + node, "1", ex=int(3 * HEARTBEAT_EVERY))


def node_alive(node: str) -> bool:
    return bool(redis_client().exists(keys.NODE_HEARTBEAT + node))


class Housekeeper(threading.Thread):
    """The worker's background chores: heartbeat often, janitor sweep now and then."""

    def __init__(self, node: str, settings: Settings) -> None:
        super().__init__(name="graderq-housekeeper", daemon=True)
        self.node = node
        self.settings = settings
        self.stopped = threading.Event()
        self.backend = DockerBackend.from_settings(settings)

    def sweep(self) -> None:
        max_age = self.settings.task_time_limit + self.settings.task_time_margin
        try:
            sweep(self.backend, max_age)
        except GraderqError:
            log.exception("janitor sweep failed")

    def run(self) -> None:
        since_sweep = 0.0
        while not self.stopped.wait(HEARTBEAT_EVERY):
            try:
                heartbeat(self.node)
            except redis.RedisError:
                log.warning("heartbeat failed", exc_info=True)
            since_sweep += HEARTBEAT_EVERY
            if since_sweep >= self.settings.janitor_interval:
                since_sweep = 0.0
                self.sweep()


_housekeeper: Housekeeper | None = None


@signals.celeryd_after_setup.connect
def _consume_node_queue(sender: str, instance: Any, **_: Any) -> None:
    """Each worker also consumes the queue of its Docker host."""
    queue = node_queue(current_node())
    instance.app.amqp.queues.select_add(queue)
    log.info("graderq worker on node %s consumes %s", current_node(), queue)


@signals.worker_ready.connect
def _start_housekeeping(**_: Any) -> None:
    global _housekeeper
    _housekeeper = Housekeeper(current_node(), get_settings())
    heartbeat(_housekeeper.node)
    _housekeeper.sweep()
    _housekeeper.start()


@signals.worker_shutdown.connect
def _stop_housekeeping(**_: Any) -> None:
    if _housekeeper is not None:
        _housekeeper.stopped.set()
