"""Exam day, bursts: one tenant's backlog barely delays another's work, higher
priorities go first, a tenant over GRADERQ_MAX_QUEUED gets Busy at once, and the
worker's metrics can be scraped. Real Redis, real worker processes."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import httpx
import pytest
import redis
from celery import states

from graderq import client
from graderq.errors import Busy, TenantError
from graderq.queue.launcher import WorkerProcess
from graderq.queue.tenants import tenant_queue
from graderq.settings import get_settings

from .conftest import wait_until

BACKLOG = 2000


def drop_queue(redis_client: redis.Redis, queue: str) -> None:
    """Empty `queue` at every priority level."""
    redis_client.delete(queue, *(f"{queue}:{level}" for level in range(1, 10)))


def test_a_tenants_backlog_delays_another_tenant_by_a_few_tasks(
    start_own_worker: Callable[..., WorkerProcess], redis_client: redis.Redis
) -> None:
    burst = [client.submit("python", "true", tenant="course-a") for _ in range(BACKLOG)]
    start_own_worker("fair", concurrency=2)
    wait_until(lambda: burst[0].ready(), 60, "the backlog to start")
    others = [client.submit("python", "echo b", tenant="course-b") for _ in range(10)]
    started = time.monotonic()
    try:
        for handle in others:
            assert client.wait(handle, timeout=120)["stdout"] == b"b\n"
        waited = time.monotonic() - started
        served = sum(1 for handle in burst if handle.state == states.SUCCESS)
    finally:
        drop_queue(redis_client, tenant_queue("course-a"))
    print(
        f"\n10 tasks of course-b done in {waited:.1f} s, behind {BACKLOG} of course-a "
        f"({served} of them served by then)"
    )
    assert served < 60  # a few of course-a's for each of course-b's, not the backlog


def test_higher_priorities_go_first(
    start_own_worker: Callable[..., WorkerProcess], redis_client: redis.Redis
) -> None:
    handles = {
        priority: client.submit("python", "true", tenant="ranked", priority=priority)
        for priority in (0, 3, 9, 5, 1)
    }
    start_own_worker("ranked", concurrency=1)
    for handle in handles.values():
        client.wait(handle, timeout=60)
    done = sorted(handles, key=lambda priority: handles[priority].date_done)
    assert done == [9, 5, 3, 1, 0]


def test_a_tenant_over_its_queue_bound_is_told_it_is_busy(
    monkeypatch: pytest.MonkeyPatch, redis_client: redis.Redis
) -> None:
    monkeypatch.setattr(get_settings(), "max_queued", 5)
    queue = tenant_queue("crowded")
    try:
        for _ in range(5):
            client.submit("python", "true", tenant="crowded")
        started = time.monotonic()
        with pytest.raises(Busy, match=r"crowded.*5 tasks waiting"):
            client.submit("python", "true", tenant="crowded")
        assert time.monotonic() - started < 1
        client.submit("python", "true", tenant="roomy")  # another tenant is not held
    finally:
        drop_queue(redis_client, queue)
        drop_queue(redis_client, tenant_queue("roomy"))
    for bad in ("", "a b", "x" * 65):
        with pytest.raises(TenantError):
            client.submit("python", "true", tenant=bad)
    with pytest.raises(TenantError, match="priority"):
        client.submit("python", "true", priority=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_metrics_endpoint(start_own_worker: Callable[..., WorkerProcess]) -> None:
    port = free_port()
    start_own_worker("measured", GRADERQ_METRICS_PORT=str(port))
    for command in ("true", "exit 3"):
        client.run("python", command, timeout=60)
    report = client.grade(
        {"profile_name": "python", "command": "cat"}, [{"stdin": "1", "expected": "1"}]
    ).get(timeout=60)
    assert report["verdict"] == "accepted"
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert 'graderq_runs_total{outcome="exit_0",profile="python",verdict="none"}' in text
    assert 'graderq_runs_total{outcome="exit_nonzero",profile="python",verdict="none"} 1.0' in text
    assert 'graderq_runs_total{outcome="exit_0",profile="python",verdict="accepted"} 1.0' in text
    assert 'graderq_gradings_total{profile="python",verdict="accepted"} 1.0' in text
    assert 'graderq_queued_to_started_seconds_count{task="graderq.run_sandbox"} 2.0' in text
    assert 'graderq_started_to_finished_seconds_count{task="graderq.judge"} 1.0' in text
    assert "graderq_sandboxes_running 0.0" in text
    assert 'graderq_queue_depth{tenant="default"} 0.0' in text
    assert "graderq_redeliveries_total" in text
    free = next(line for line in text.splitlines() if line.startswith("graderq_disk_free_bytes"))
    assert float(free.split()[1]) > 0
