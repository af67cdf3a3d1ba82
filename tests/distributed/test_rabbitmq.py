"""The round trip with RabbitMQ as the broker (results still in Redis)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from graderq.queue.app import make_app
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


QUORUM_VHOST = "graderq-quorum"


def rabbitmqctl(*args: str) -> str:
    done = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def quorum_broker(rabbitmq: str) -> Iterator[str]:
    """A vhost of the test's own, with the production policy: a delivery limit on
    graderq's quorum queues."""
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", QUORUM_VHOST], capture_output=True)
    rabbitmqctl("add_vhost", QUORUM_VHOST)
    rabbitmqctl("set_permissions", "-p", QUORUM_VHOST, "guest", ".*", ".*", ".*")
    rabbitmqctl(
        "set_policy",
        "-p",
        QUORUM_VHOST,
        "--apply-to",
        "queues",
        "graderq-delivery-limit",
        "^graderq",
        '{"delivery-limit": 3}',
    )
    try:
        yield f"amqp://guest:guest@127.0.0.1:5672/{QUORUM_VHOST}"
    finally:
        rabbitmqctl("delete_vhost", QUORUM_VHOST)


def test_quorum_queues_with_a_delivery_limit(
    quorum_broker: str, start_own_worker: Callable[..., Worker]
) -> None:
    env = {"GRADERQ_BROKER_URL": quorum_broker, "GRADERQ_RABBITMQ_QUEUES": "quorum"}
    doomed = start_own_worker("quorum-1", concurrency=1, **env)
    settings = Settings(
        broker_url=quorum_broker,
        rabbitmq_queues="quorum",
        result_backend=get_settings().result_backend,
    )
    producer = make_app(settings)
    assert (
        producer.send_task("graderq.run_sandbox", ("python", "echo q")).get(timeout=60)["stdout"]
        == b"q\n"
    )
    queues = dict(
        line.split("\t")[:2]
        for line in rabbitmqctl("list_queues", "-p", QUORUM_VHOST, "name", "type").splitlines()
        if line.startswith("graderq")
    )
    assert queues["graderq"] == "quorum"
    assert any(
        name.startswith("graderq.node.") and kind == "quorum" for name, kind in queues.items()
    )
    policies = rabbitmqctl("list_queues", "-p", QUORUM_VHOST, "name", "policy")
    assert "graderq\tgraderq-delivery-limit" in policies
    # A worker killed mid-task: the quorum queue hands the task to the next worker.
    pending = producer.send_task("graderq.run_sandbox", ("python", "sleep 3; echo again"))
    deadline = time.monotonic() + 30
    while "graderq.run_sandbox[" + pending.id not in doomed.output():
        assert time.monotonic() < deadline, "the task never reached the worker"
        time.sleep(0.1)  # polling the worker's log, bounded by the deadline
    doomed.kill()
    start_own_worker("quorum-2", concurrency=1, **env)
    assert pending.get(timeout=90)["stdout"] == b"again\n"
