"""What graderq keeps in Redis beside Celery's results: node heartbeats, delivery
counts, and a record of every task id it issued (for client.result and callbacks).

All of it lives in the result backend's Redis, under the prefixes of graderq.keys.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import redis
from kombu.utils.json import dumps, loads

from graderq import keys
from graderq.settings import LEASE_EVERY, get_settings

HEARTBEAT_EVERY = LEASE_EVERY
"""Seconds between a worker's heartbeats; a node is gone after three missed."""


@cache
def redis_client() -> redis.Redis:
    """The result backend's Redis, for graderq's own keys."""
    timeout = get_settings().broker_timeout
    return redis.Redis.from_url(
        get_settings().result_backend, socket_timeout=timeout, socket_connect_timeout=timeout
    )


def heartbeat(node: str) -> None:
    redis_client().set(keys.NODE_HEARTBEAT + node, "1", ex=int(3 * HEARTBEAT_EVERY))


def node_alive(node: str) -> bool:
    return bool(redis_client().exists(keys.NODE_HEARTBEAT + node))


def live_nodes(client: redis.Redis | None = None) -> list[str]:
    """The Docker hosts (nodes) with a live worker, from their heartbeats."""
    found = (client or redis_client()).scan_iter(match=f"{keys.NODE_HEARTBEAT}*")
    return sorted(key.decode().removeprefix(keys.NODE_HEARTBEAT) for key in found)


def count_delivery(task_id: str, retries: int = 0) -> int:
    """Count a start of attempt `retries` of `task_id`; the attempt's starts so far.

    Deliberate retries are new attempts with their own count; only deliveries of the
    same attempt (after a worker died holding it) add up.
    """
    key = keys.DELIVERIES + task_id + (f":{retries}" if retries else "")
    with redis_client().pipeline() as pipe:
        count, _ = pipe.incr(key).expire(key, int(get_settings().result_expires)).execute()
    return count


def issue(task_id: str, callback: dict[str, Any] | None = None, tenant: str | None = None) -> bool:
    """Record that graderq issued `task_id`, its callback and its tenant; before it is
    sent. True if the tenant is new."""
    ttl = int(get_settings().result_expires)
    with redis_client().pipeline() as pipe:
        pipe.set(keys.ISSUED + task_id, "1", ex=ttl)
        if callback is not None:
            pipe.set(keys.CALLBACK + task_id, dumps(callback), ex=ttl)
        if tenant is not None:
            pipe.sadd(keys.TENANTS, tenant)
        done = pipe.execute()
    return tenant is not None and bool(done[-1])


def tenants() -> list[str]:
    """Every tenant that has submitted work (their queues are consumed by all workers)."""
    return sorted(member.decode() for member in redis_client().smembers(keys.TENANTS))


def was_issued(task_id: str) -> bool:
    """Whether graderq issued `task_id` and its result has not expired yet."""
    return bool(redis_client().exists(keys.ISSUED + task_id))


def count_callback_failure() -> None:
    redis_client().incr(keys.CALLBACK_FAILURES)


def take_callback(task_id: str) -> dict[str, Any] | None:
    """The callback of `task_id`, removed so that it is sent once; None if it has none."""
    spec = redis_client().getdel(keys.CALLBACK + task_id)
    return None if spec is None else loads(spec)


def mark_failed(grading: str, index: int) -> None:
    """Record that test `index` of `grading` failed (stop_on_failure skips later ones)."""
    key = keys.STOPPED + grading
    with redis_client().pipeline() as pipe:
        pipe.sadd(key, index).expire(key, int(get_settings().result_expires)).execute()


def failed_before(grading: str, index: int) -> bool:
    """Whether a test of `grading` before `index` has failed."""
    return any(int(found) < index for found in redis_client().smembers(keys.STOPPED + grading))
