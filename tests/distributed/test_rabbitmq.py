"""The round trip with RabbitMQ as the broker (results still in Redis)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from graderq.app import make_app
from graderq.settings import Settings, get_settings

from .conftest import Worker

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"


@pytest.fixture(scope="module")
def rabbitmq() -> str:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
    except OSError as exc:
        pytest.fail(f"RabbitMQ is not listening on 127.0.0.1:5672 ({exc}); run .ci/run")
    return RABBITMQ


def test_round_trip_through_rabbitmq(rabbitmq: str, start_worker: Callable[..., Worker]) -> None:
    start_worker("rabbit", concurrency=1, GRADERQ_BROKER_URL=rabbitmq)
    settings = Settings(broker_url=rabbitmq, result_backend=get_settings().result_backend)
    producer = make_app(settings)
    pending = [
        producer.send_task("graderq.run_sandbox", ("python", "cat"), {"stdin": f"job {i}"})
        for i in range(5)
    ]
    results = [result.get(timeout=60) for result in pending]
    assert [r["stdout"] for r in results] == [f"job {i}".encode() for i in range(5)]
    assert all(r["exit_code"] == 0 and not r["timeout"] for r in results)
