"""Worker-side wiring: this host's identity and queue, heartbeats and the janitor.

GraderqNode is a bootstep of graderq's own app, so all of this runs only inside
`celery -A graderq worker`: an LMS's worker that imports graderq.client gets none of it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import cache
from typing import Any

import redis
from celery import bootsteps

from graderq import records
from graderq.engine import Engine
from graderq.errors import GraderqError
from graderq.routing import node_queue
from graderq.settings import Settings, get_settings
from graderq.timelimits import worker_settings

log = logging.getLogger("graderq.worker")


@cache
def worker_engine() -> Engine:
    """This worker process's engine (made after the fork, never shared by processes)."""
    return Engine(settings=worker_settings(get_settings()))


def docker_backend(settings: Settings) -> Any:
    """A DockerBackend for `settings` (imported here: producers lack the `docker` package)."""
    from graderq.sandbox.docker_backend import DockerBackend

    return DockerBackend.from_settings(settings)


@cache
def current_node() -> str:
    """The identity of the Docker host this worker runs sandboxes on."""
    settings = get_settings()
    return settings.node or docker_backend(settings).node_id()


class Chore(threading.Thread):
    """A background chore of the worker's main process, repeated every `every` seconds
    (first at once), each on its own thread so that none waits behind another."""

    def __init__(self, name: str, every: float, work: Callable[[], None]) -> None:
        super().__init__(name=f"graderq-{name}", daemon=True)
        self.every = every
        self.work = work
        self.stopped = threading.Event()

    def run(self) -> None:
        while True:
            try:
                self.work()
            except (GraderqError, redis.RedisError):
                log.exception("graderq %s failed", self.name)
            if self.stopped.wait(self.every):
                return

    def stop(self) -> None:
        self.stopped.set()


class Housekeeping:
    """The heartbeat (every HEARTBEAT_EVERY s) and the janitor (every janitor_interval s).

    A janitor sweep may wait on Docker for a minute; the heartbeat never waits for it.
    """

    def __init__(self, node: str, settings: Settings) -> None:
        self.node = node
        self.settings = settings
        self.backend = docker_backend(settings)
        self.chores = [
            Chore("heartbeat", records.HEARTBEAT_EVERY, self.beat),
            Chore("janitor", settings.janitor_interval, self.sweep),
        ]

    def beat(self) -> None:
        records.heartbeat(self.node)

    def sweep(self) -> None:
        from graderq.sandbox.janitor import check_room, sweep

        sweep(self.backend, self.settings.task_time_limit + self.settings.task_time_margin)
        check_room(self.backend, self.settings)

    def start(self) -> None:
        for chore in self.chores:
            chore.start()

    def stop(self) -> None:
        for chore in self.chores:
            chore.stop()


class GraderqNode(bootsteps.StartStopStep):
    """graderq's part of a worker: it also consumes the queue of its Docker host, and
    keeps house (heartbeats, janitor) once the pool is up."""

    label = "graderq node"
    requires = ("celery.worker.components:Pool",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.node = current_node()
        queue = node_queue(self.node)
        worker.app.amqp.queues.select_add(queue)
        log.info("graderq worker on node %s consumes %s", self.node, queue)

    def create(self, worker: Any) -> Housekeeping:
        return Housekeeping(self.node, get_settings())
