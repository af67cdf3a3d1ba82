"""Tenants (courses) and priorities: fair service under one tenant's burst.

Each tenant's work waits in a queue of its own (the default tenant's is "graderq");
workers consume every tenant queue, and the broker hands them out in turn (Redis:
one BRPOP over all the queues, rotated after each delivery; RabbitMQ: one consumer per
queue, served round-robin by the channel), so a backlog of one tenant delays another
by a few tasks at most. Within a queue, higher priorities go first: ten levels, 0-9.
"""

from __future__ import annotations

import re
from typing import Any

from graderq.errors import Busy, TenantError
from graderq.queue.routing import DEFAULT_QUEUE

DEFAULT_TENANT = "default"
DEFAULT_PRIORITY = 5
TENANT_QUEUE_PREFIX = "graderq.tenant."
_TENANT = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def tenant_queue(tenant: str) -> str:
    """The queue of `tenant`'s work (TenantError for a malformed name)."""
    if not isinstance(tenant, str) or not _TENANT.match(tenant):
        raise TenantError(
            f"tenant {tenant!r} must be 1-64 letters, digits, '_', '-' or '.' (a course id)"
        )
    return DEFAULT_QUEUE if tenant == DEFAULT_TENANT else TENANT_QUEUE_PREFIX + tenant


def broker_priority(priority: int | None, broker_url: str) -> int:
    """The message priority for graderq's `priority` (0-9, higher first) on this broker:
    RabbitMQ serves higher numbers first, Redis lower ones."""
    if priority is None:
        priority = DEFAULT_PRIORITY
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 9:
        raise TenantError(f"priority must be an integer from 0 to 9, not {priority!r}")
    return priority if broker_url.startswith(("amqp", "pyamqp")) else 9 - priority


def queued(app: Any, queue: str) -> int:
    """How many messages wait in `queue` (every priority level), 0 if it does not exist."""
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=0)
        channel = connection.default_channel
        try:
            return channel.queue_declare(queue=queue, passive=True).message_count
        except connection.channel_errors:
            return 0  # RabbitMQ: no such queue yet


def admit(app: Any, tenant: str, limit: int) -> str:
    """`tenant`'s queue, if it has room for one more task; Busy otherwise."""
    queue = tenant_queue(tenant)
    waiting = queued(app, queue)
    if waiting >= limit:
        raise Busy(
            f"tenant {tenant!r} has {waiting} tasks waiting (GRADERQ_MAX_QUEUED={limit}); "
            "submit again in a minute"
        )
    return queue


def consume(app: Any, queue: str, destination: list[str] | None = None) -> None:
    """Ask workers (all, or `destination`) to consume `queue`, declared the way the app
    declares a queue it lacks (a quorum queue with GRADERQ_RABBITMQ_QUEUES=quorum)."""
    arguments = dict(app.amqp.queues.new_missing(queue).queue_arguments or {})
    if app.conf.task_queue_max_priority:  # as the app declares it (Queues adds it)
        arguments.setdefault("x-max-priority", app.conf.task_queue_max_priority)
    options = {"queue_arguments": arguments} if arguments else {}
    app.control.add_consumer(queue, destination=destination, reply=False, options=options)
