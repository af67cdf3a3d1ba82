"""The Redis transport of graderq's app: kombu's, but a lost connection never stops a
worker.

When the broker goes away, the consumer closes its channel, and kombu's QoS tries to
put the channel's unacked deliveries back in their queues, or later to ack a task that
ends on that channel, over a connection that is gone; kombu 5.7 then raises
AttributeError, and Celery stops the worker for it ("Unrecoverable error"). Here the
deliveries are left where they are, in the unacked index, which any worker's restore
sweep hands out again after the visibility timeout
(a finished task is then skipped: worker_deduplicate_successful_tasks).
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.transport import redis as kombu_redis

log = logging.getLogger("graderq.broker")
REDIS_SCHEMES = ("redis://", "rediss://")


LOST = (AttributeError, *kombu_redis.Transport.connection_errors)
"""What kombu raises for a channel whose connection is gone."""


class QoS(kombu_redis.QoS):
    def restore_unacked(self, client: Any = None) -> None:
        try:
            super().restore_unacked(client)
        except LOST as exc:
            log.warning(
                "%d unacked deliveries left for the visibility timeout (%r)",
                len(self._delivered),
                exc,
            )
            self._delivered.clear()

    def ack(self, delivery_tag: Any) -> None:
        try:
            super().ack(delivery_tag)
        except LOST as exc:  # an ack on a channel that died with its connection
            log.warning(
                "ack of %s lost with its channel (%r): its redelivery finds the result "
                "stored and is skipped",
                delivery_tag,
                exc,
            )
            self._delivered.pop(delivery_tag, None)


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(kombu_redis.Transport):
    Channel = Channel


def transport_for(url: str) -> str | None:
    """The broker_transport setting for `url`: graderq's for Redis, else the URL's own."""
    return "graderq.queue.broker:Transport" if url.startswith(REDIS_SCHEMES) else None
