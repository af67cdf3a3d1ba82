"""The Celery app: JSON only, late acks, prefetch of one, events on, graderq's routes.

`celery -A graderq worker` and `celery -A graderq flower` find this app.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from functools import cached_property
from typing import Any

from celery import Celery, Task
from celery.result import AsyncResult
from celery.utils import uuid

from graderq.queue import records
from graderq.queue.broker import transport_for
from graderq.queue.results import backend_url
from graderq.queue.routing import DEFAULT_QUEUE, call_arguments, route_task
from graderq.queue.tenants import broker_priority
from graderq.queue.unavailable import reachable
from graderq.settings import Settings, get_settings

RABBITMQ_QUEUES = {
    "classic": {},
    "priority": {"task_queue_max_priority": 10},
    "quorum": {
        "task_default_queue_type": "quorum",
        "task_create_missing_queue_type": "quorum",
        "worker_detect_quorum_queues": True,
    },
}
"""Celery's settings for each kind of RabbitMQ queue (GRADERQ_RABBITMQ_QUEUES)."""


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery's configuration for `settings`."""
    amqp = settings.broker_url.startswith(("amqp://", "amqps://", "pyamqp://"))
    transport = {
        "visibility_timeout": settings.visibility_timeout,
        "unacked_restore_interval": settings.restore_interval,
        "unacked_restore_throttle": 1,
        # Ten priority levels per queue; graderq's priority 9 is Redis's level 0.
        "priority_steps": list(range(10)),
        "sep": ":",
        "queue_order_strategy": "round_robin",
        "socket_timeout": settings.broker_timeout,
        "socket_connect_timeout": settings.broker_timeout,
    }
    return {
        "broker_url": settings.broker_url,
        "broker_transport": transport_for(settings.broker_url),
        "result_backend": backend_url(settings.result_backend),
        "result_expires": settings.result_expires,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # A redelivered task whose result is stored already (its ack was lost, say in a
        # Redis restart) is not run again.
        "worker_deduplicate_successful_tasks": True,
        "worker_prefetch_multiplier": 1,
        "broker_transport_options": transport,
        # Celery's Redis result backend reads its socket timeouts from these, not from
        # its transport options (its own default is 120 s).
        "redis_socket_timeout": settings.broker_timeout,
        "redis_socket_connect_timeout": settings.broker_timeout,
        "result_backend_transport_options": {
            "retry_policy": {"timeout": settings.broker_timeout / 2},
        },
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": settings.broker_timeout,
        "task_publish_retry_policy": {
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 1,
            "interval_max": 1,
        },
        # Remote control and events of graderq's own: on Celery's shared exchanges an
        # LMS's worker on the same broker would take up graderq's broadcasts (a new
        # tenant's queue) and graderq's workers the LMS's (`celery -A lms control shutdown`).
        "control_exchange": "graderq",
        "event_exchange": "graderqev",
        "task_default_queue": DEFAULT_QUEUE,
        "task_routes": (route_task,),
        # Worker events feed Flower's live view; the producer-side "sent" event and the
        # STARTED state would cost every task a Redis round trip that nothing reads.
        "task_track_started": False,
        "task_send_sent_event": False,
        "worker_send_task_events": True,
        "task_time_limit": settings.task_time_limit + settings.result_retry_for,
        "task_soft_time_limit": settings.task_time_limit - settings.task_time_margin,
        "worker_hijack_root_logger": False,
        **(RABBITMQ_QUEUES[settings.rabbitmq_queues] if amqp else {}),
    }


class GraderqTask(Task):
    """Short argument reprs (no file contents, no stdin); the worker sets the time limits
    (graderq.queue.timelimits)."""

    Request = "graderq.queue.timelimits:WorkerRequest"

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        arguments = call_arguments(self, args or (), kwargs or {})
        if arguments is not None:
            if arguments.get("workdir") is not None:
                # A pinned task that waited longer than its workdir lives is pointless.
                options.setdefault("expires", get_settings().workdir_ttl)
            options.setdefault("argsrepr", "()")
            options.setdefault("kwargsrepr", short_repr(arguments))
        options["headers"] = {**(options.get("headers") or {}), "graderq_sent": time.time()}
        sender = self._sending_task()
        options.setdefault("priority", self._priority(sender))
        # A producer (not a task: Celery's chain and chord code in a worker expects
        # kombu's own errors) sees an unreachable broker as BackendUnavailable.
        with nullcontext() if sender is not None else reachable():
            if options.get("task_id") is None:
                # A producer's own call (run_sandbox.delay): recorded, so that
                # client.result(id) tells it from an id graderq never issued.
                options["task_id"] = uuid()
                records.issue(options["task_id"])
            return super().apply_async(args, kwargs, **options)

    def _sending_task(self) -> Task | None:
        """The graderq task this process is running, if any (not an LMS's own task)."""
        current = self.app.current_worker_task
        return current if current is not None and current.app is self.app else None

    def _priority(self, sender: Task | None) -> Any:
        """The priority of work sent without one: that of the graderq task `sender` (a
        grading's runs, its judge, a workdir's removal go at the grading's priority),
        else the default (on Redis, no priority would be the highest level, ahead of
        every tenant's work)."""
        if sender is not None:
            info = getattr(sender.request, "delivery_info", None) or {}
            inherited = info.get("priority") if isinstance(info, dict) else None
            if isinstance(inherited, int) and 0 <= inherited <= 9:
                return inherited
        return broker_priority(None, self.app.conf.broker_url)


def short_repr(arguments: dict[str, Any]) -> str:
    """A one-line view of a call for logs, events and Flower: sizes, not contents."""
    parts = []
    for name, value in arguments.items():
        if value is None:
            continue
        if name == "files" and isinstance(value, list | tuple):
            names = [f.get("name") if isinstance(f, dict) else "?" for f in value]
            shown = f"[{len(names)} files: {', '.join(map(str, names[:5]))}"
            shown += ", ...]" if len(names) > 5 else "]"
        elif name == "stdin" and isinstance(value, str | bytes):
            shown = f"<{len(value)} bytes>"
        elif isinstance(value, str | bytes) and len(value) > 80:
            shown = repr(value[:77]) + "..."
        else:
            shown = repr(value)
            if len(shown) > 200:
                shown = shown[:197] + "..."
        parts.append(f"{name}={shown}")
    return "{" + ", ".join(parts) + "}"


class GraderqCelery(Celery):
    """graderq's app: its result handles refuse to be waited for inside a task."""

    @cached_property
    def AsyncResult(self) -> type[AsyncResult]:
        return self.subclass_with_self("graderq.queue.waiting:Handle")


def make_app(settings: Settings | None = None) -> Celery:
    """A Celery app configured from `settings` (the environment's by default)."""
    settings = settings or get_settings()
    # Never the process's current app: an LMS's shared_task must stay on the LMS's own.
    celery = GraderqCelery(
        "graderq", task_cls=GraderqTask, include=["graderq.queue.tasks"], set_as_current=False
    )
    celery.conf.update(celery_config(settings))
    # graderq's worker behaviour, in workers of this app only (never in an LMS's own).
    celery.steps["worker"].add("graderq.queue.worker:GraderqNode")
    return celery


app = make_app()
