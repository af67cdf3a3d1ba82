"""Worker-side wiring: this host's identity and queue, heartbeats and the janitor.

GraderqNode is a bootstep of graderq's own app, so all of this runs only inside
`celery -A graderq worker`: an LMS's worker that imports graderq.client gets none of it.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import cache
from typing import Any

import redis
from celery import bootsteps, current_app, signals
from celery.worker import state

from graderq.engine import Engine
from graderq.queue import records
from graderq.queue.routing import node_queue
from graderq.queue.tenants import consume, tenant_queue
from graderq.queue.timelimits import worker_settings
from graderq.settings import LEASE_EVERY, Settings, get_settings

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
            except redis.RedisError as exc:
                log.warning("%s: Redis is away (%s)", self.name, exc)
            except Exception:  # a chore must outlive any one failure, or the node looks dead
                log.exception("%s failed", self.name)
            if self.stopped.wait(self.every):
                return

    def stop(self) -> None:
        self.stopped.set()


class Housekeeping:
    """The worker's chores, each on its own thread: the heartbeat and the renewal of the
    tasks it holds (every LEASE_EVERY s), the tenants' queues, and the janitor (every
    janitor_interval s). A janitor sweep may wait on Docker for a minute; the heartbeat
    and the renewals never wait for it.
    """

    def __init__(self, worker: Any, node: str, settings: Settings) -> None:
        self.worker = worker
        self.node = node
        self.settings = settings
        self.backend = docker_backend(settings)
        self.leases = Leases.for_broker(worker.app.conf.broker_url)
        self.chores = [
            Chore("heartbeat", records.HEARTBEAT_EVERY, self.beat),
            Chore("leases", LEASE_EVERY, self.renew),
            Chore("tenants", records.HEARTBEAT_EVERY, self.consume_tenants),
            Chore("janitor", settings.janitor_interval, self.sweep),
            Chore("workdirs", self.workdir_sweep_every(), self.sweep_workdirs),
        ]

    def beat(self) -> None:
        records.heartbeat(self.node)

    def renew(self) -> None:
        """Renew the tasks this worker holds (on the broker: the result backend may be
        away meanwhile, and the heartbeat with it)."""
        if self.leases is not None:
            self.leases.renew(held_deliveries())

    def consume_tenants(self) -> None:
        """Consume every tenant's queue: asked of this worker's own consumer (the
        remote-control command runs on the consumer's thread, where queues change)."""
        known = {queue.name for queue in self.worker.app.amqp.queues.consume_from.values()}
        for tenant in records.tenants():
            queue = tenant_queue(tenant)
            if queue not in known:
                consume(self.worker.app, queue, [self.worker.hostname])

    def sweep(self) -> None:
        from graderq.sandbox.janitor import abandoned_after, check_room, sweep

        sweep(self.backend, abandoned_after(self.settings))
        check_room(self.backend, self.settings)

    def workdir_sweep_every(self) -> float:
        from graderq.sandbox.janitor import workdir_sweep_every

        return workdir_sweep_every(self.settings)

    def sweep_workdirs(self) -> None:
        """Remove the unused volumes the janitor would, with the workdirs that expire
        before the next of these sweeps."""
        from graderq.sandbox.janitor import sweep_volumes

        sweep_volumes(self.backend, time.time(), lead=self.workdir_sweep_every())

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
        queues = [node_queue(self.node)]
        try:
            queues += [tenant_queue(tenant) for tenant in records.tenants()]
        except redis.RedisError:
            log.warning("tenants unknown (Redis away): their queues are added later")
        table = worker.app.amqp.queues
        for queue in queues:
            table.select_add(table.new_missing(queue))  # declared as the app declares any
        if get_settings().metrics_port is not None:
            metrics_dir()
        log.info("graderq worker on node %s consumes %s", self.node, ", ".join(queues))

    def create(self, worker: Any) -> Housekeeping:
        return Housekeeping(worker, self.node, get_settings())

    def start(self, worker: Any) -> None:
        settings = get_settings()
        if settings.metrics_port is not None:
            from graderq.queue.metrics import serve

            serve(settings.metrics_port, worker.app, str(settings.disk_dir))
            log.info("graderq metrics on port %d", settings.metrics_port)
        super().start(worker)


def metrics_dir() -> None:
    """A fresh directory for the pool processes' metric files (prometheus-client's
    multiprocess mode), set before the pool forks and before graderq.queue.metrics is imported."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(
        prefix="graderq-metrics-"
    )
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    values = sys.modules.get("prometheus_client.values")
    if values is not None:  # imported already (Flower's celery plugin does): choose again
        values.ValueClass = values.get_value_class()


class Leases:
    """Renews the tasks this worker holds in the Redis transport's unacked index, so that
    only the tasks of a dead worker outlive the visibility timeout and are redelivered:
    a live worker's 10-minute task never is, and a killed worker's comes back within
    about a minute (GRADERQ_VISIBILITY_TIMEOUT)."""

    INDEX = "unacked_index"  # kombu's default unacked_index_key

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    @classmethod
    def for_broker(cls, url: str) -> Leases | None:
        """Leases on a Redis broker; None on RabbitMQ, whose broker sees dead consumers."""
        if not url.startswith(("redis://", "rediss://")):
            return None
        timeout = get_settings().broker_timeout
        return cls(redis.Redis.from_url(url, socket_timeout=timeout))

    def renew(self, tags: list[str]) -> None:
        if tags:
            now = time.time()
            self.client.zadd(self.INDEX, {tag: now for tag in tags}, xx=True)


def held_deliveries() -> list[str]:
    """The delivery tags of every task this worker holds: reserved, running, or waiting
    for its ETA."""
    for _ in range(5):
        try:  # the consumer's thread changes these sets while this one reads them
            held = [*state.reserved_requests, *state.active_requests, *state.scheduled_requests]
        except RuntimeError:
            continue
        return [request.message.delivery_tag for request in held if request.message is not None]
    return []


@signals.worker_process_init.connect
def _own_process_group(**_: Any) -> None:
    """A pool process of graderq's worker leaves the worker's process group, so that a
    SIGTERM to the group (systemd, a terminal, `kill -TERM -PGID`) reaches only the main
    process, whose warm shutdown lets running tasks finish; the pool process still dies
    with it (Celery sets PDEATHSIG)."""
    if current_app.main == "graderq":
        os.setpgid(0, 0)
