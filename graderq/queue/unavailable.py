"""One error for an unreachable broker or result backend: BackendUnavailable.

kombu, redis-py and Celery's result consumer each say it their own way; producers
(graderq.client, graderq.client.lookup) see only BackendUnavailable, a GraderqError.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis
from kombu.exceptions import OperationalError

from graderq.errors import BackendUnavailable


@contextmanager
def reachable() -> Iterator[None]:
    """Turn every sign of an unreachable broker or result backend into BackendUnavailable."""
    try:
        yield
    except (OperationalError, redis.RedisError, ConnectionError, TimeoutError) as exc:
        raise BackendUnavailable(f"the broker or the result backend is unreachable: {exc}") from exc
    except RuntimeError as exc:  # Celery's result consumer, after its reconnection attempts
        if "reconnect" not in str(exc):
            raise
        raise BackendUnavailable(f"the result backend is unreachable: {exc}") from exc
