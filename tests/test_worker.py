"""The worker's chores: a heartbeat never waits behind a janitor sweep."""

import threading
from types import SimpleNamespace

import pytest

from graderq.queue import records, worker


def test_the_heartbeat_goes_on_while_a_sweep_hangs(monkeypatch: pytest.MonkeyPatch) -> None:
    beats = threading.Semaphore(0)
    released = threading.Event()
    monkeypatch.setattr(records, "HEARTBEAT_EVERY", 0.01)
    monkeypatch.setattr(records, "heartbeat", lambda node: beats.release())
    monkeypatch.setattr(worker, "docker_backend", lambda settings: None)
    celery_worker = SimpleNamespace(
        app=SimpleNamespace(conf=SimpleNamespace(broker_url="memory://"))
    )
    housekeeping = worker.Housekeeping(celery_worker, "node-1", worker.get_settings())
    housekeeping.chores[1].work = lambda: None  # no broker to renew leases on
    housekeeping.chores[2].work = lambda: None  # no tenants to look up
    housekeeping.chores[3].work = lambda: released.wait(30)  # a Docker call taking its time
    housekeeping.start()
    try:
        for _ in range(20):  # twenty beats while the sweep still hangs
            assert beats.acquire(timeout=5)
        assert not released.is_set()
    finally:
        released.set()
        housekeeping.stop()
