"""Exam day, workers: a killed worker's tasks come back within 90 s at the production
visibility timeout, a live worker's long task is never redelivered, and SIGTERM to a
worker's process group is a warm shutdown. Real Redis, real worker processes."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable

import redis

from graderq import client, keys
from graderq.queue.launcher import WorkerProcess
from graderq.queue.tenants import broker_priority
from graderq.settings import Settings

from .conftest import wait_until

PRODUCTION = Settings.model_fields["visibility_timeout"].default


def deliveries(redis_client: redis.Redis, task_id: str) -> int:
    count = redis.Redis.from_url(client.get_settings().result_backend).get(
        keys.DELIVERIES + task_id
    )
    return int(count or 0)


def test_a_killed_workers_tasks_run_again_within_90_s(
    start_own_worker: Callable[..., WorkerProcess], redis_client: redis.Redis
) -> None:
    env = {"GRADERQ_VISIBILITY_TIMEOUT": str(PRODUCTION)}  # the production default
    doomed = start_own_worker("doomed", **env)
    handles = [client.submit("python", "sleep 3; echo again") for _ in range(2)]
    wait_until(
        lambda: all(deliveries(redis_client, h.id) == 1 for h in handles), 30, "both to start"
    )
    start_own_worker("survivor", **env)
    killed = time.monotonic()
    doomed.kill()  # SIGKILL, as the OOM killer or `docker kill` would
    results = [client.wait(handle, timeout=150) for handle in handles]
    recovered = time.monotonic() - killed
    print(f"\nSIGKILL recovery at visibility_timeout={PRODUCTION:.0f} s: {recovered:.1f} s")
    assert [result["stdout"] for result in results] == [b"again\n", b"again\n"]
    assert [deliveries(redis_client, h.id) for h in handles] == [2, 2]
    assert recovered < 90


def test_a_live_workers_long_task_is_never_redelivered(
    start_own_worker: Callable[..., WorkerProcess], redis_client: redis.Redis
) -> None:
    # Three visibility timeouts long, beside a second worker that would restore it.
    env = {"GRADERQ_VISIBILITY_TIMEOUT": "15", "GRADERQ_TASK_TIME_LIMIT": "120"}
    holder = start_own_worker("holder", concurrency=1, **env)
    handle = client.submit("python", "sleep 48; echo long", limits={"realtime": 55})
    wait_until(lambda: deliveries(redis_client, handle.id) == 1, 30, "the long task to start")
    start_own_worker("bystander", concurrency=1, **env)
    result = client.wait(handle, timeout=120)
    assert result["stdout"] == b"long\n" and result["timeout"] is False, result
    assert deliveries(redis_client, handle.id) == 1
    assert "graderq.run_sandbox" in holder.output()


def test_sigterm_to_the_process_group_lets_the_running_task_finish(
    start_own_worker: Callable[..., WorkerProcess], redis_client: redis.Redis
) -> None:
    worker = start_own_worker("terminated", concurrency=2)
    handle = client.submit("python", "sleep 4; echo finished")
    wait_until(lambda: deliveries(redis_client, handle.id) == 1, 30, "the task to start")
    stopped = time.monotonic()
    os.killpg(worker.process.pid, signal.SIGTERM)  # what systemd and launcher.stop send
    result = client.wait(handle, timeout=60)
    worker.process.wait(client.get_settings().task_time_limit)
    assert result["stdout"] == b"finished\n" and result["exit_code"] == 0
    assert deliveries(redis_client, handle.id) == 1  # finished, not run again
    assert time.monotonic() - stopped < client.get_settings().task_time_limit
    assert "WorkerLostError" not in worker.output()


def test_a_cold_shutdown_requeues_without_loss(
    start_own_worker: Callable[..., WorkerProcess], redis_client: redis.Redis
) -> None:
    cold = start_own_worker("cold", concurrency=1)
    handle = client.submit("python", "sleep 4; echo requeued")
    wait_until(lambda: deliveries(redis_client, handle.id) == 1, 30, "the task to start")
    os.kill(cold.process.pid, signal.SIGQUIT)  # Celery's cold shutdown
    cold.process.wait(30)
    start_own_worker("warm", concurrency=1)
    result = client.wait(handle, timeout=90)
    assert result["stdout"] == b"requeued\n"
    assert deliveries(redis_client, handle.id) == 2


def test_a_redelivered_task_that_already_succeeded_is_not_run_again(
    start_own_worker: Callable[..., WorkerProcess], redis_client: redis.Redis
) -> None:
    """A lost ack (a Redis restart as the worker acked) redelivers a finished task."""
    handle = client.submit("python", "echo once")
    level = broker_priority(None, client.get_settings().broker_url)  # the default priority
    queue = f"graderq:{level}" if level else "graderq"
    raw = redis_client.lindex(queue, 0)  # the message, before any worker takes it
    assert raw is not None
    worker = start_own_worker("deduplicating", concurrency=1)
    assert client.wait(handle, timeout=60)["stdout"] == b"once\n"
    message = json.loads(raw)
    message["headers"]["redelivered"] = True
    message["properties"]["delivery_info"]["redelivered"] = True
    redis_client.lpush(queue, json.dumps(message))
    wait_until(lambda: "already completed successfully" in worker.output(), 30, "the skip")
    assert deliveries(redis_client, handle.id) == 1  # the sandbox ran once
