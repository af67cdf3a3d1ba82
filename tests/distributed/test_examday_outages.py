"""Exam day, Redis outages: a result survives its backend being away for 60 s, a
producer gets BackendUnavailable within GRADERQ_BROKER_TIMEOUT and loses nothing it
was told was accepted, and a workdir outlives a broker lost inside its block.

Each test runs its own Redis server (append-only, as docker-compose.yml does), and
takes it away for the outage; producers that need its URL run in processes of their own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from graderq import client
from graderq.queue.launcher import WorkerProcess
from graderq.settings import get_settings

from .conftest import REPO, wait_until
from .servers import RedisServer

OUTAGE = 60.0
"""Seconds the result backend is away while a worker stores a result."""


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(6388, tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def stored(server: RedisServer, task_id: str) -> dict | None:
    raw = redis.Redis(port=server.port).get(f"celery-task-meta-{task_id}")
    return None if raw is None else json.loads(raw)


def test_a_result_survives_its_backend_away_for_60_s(
    start_own_worker: Callable[..., WorkerProcess], own_redis: RedisServer
) -> None:
    start_own_worker("patient", concurrency=1, GRADERQ_RESULT_BACKEND=f"{own_redis.url}/0")
    handle = client.submit("python", "sleep 2; echo kept")
    wait_until(lambda: redis.Redis(port=own_redis.port).keys("graderq:deliveries:*"), 30, "start")
    own_redis.stop()
    time.sleep(OUTAGE)  # the outage itself: the worker stores the result meanwhile
    own_redis.start()
    meta = wait_until(lambda: stored(own_redis, handle.id), 60, "the stored result")
    assert meta["status"] == "SUCCESS"
    assert "kept" in json.dumps(meta["result"])


def test_a_result_not_stored_in_time_requeues_its_task(
    start_own_worker: Callable[..., WorkerProcess], own_redis: RedisServer
) -> None:
    worker = start_own_worker(
        "requeuer",
        concurrency=1,
        GRADERQ_RESULT_BACKEND=f"{own_redis.url}/0",
        GRADERQ_RESULT_RETRY_FOR="2",
    )
    handle = client.submit("python", "sleep 2; echo second-try")
    wait_until(lambda: redis.Redis(port=own_redis.port).keys("graderq:deliveries:*"), 30, "start")
    own_redis.stop()
    wait_until(lambda: "requeuing the task" in worker.output(), 60, "the worker to give up")
    own_redis.start()
    meta = wait_until(lambda: stored(own_redis, handle.id), 90, "the result of a later try")
    assert meta["status"] == "SUCCESS" and "second-try" in json.dumps(meta["result"]), meta


PRODUCER = textwrap.dedent(
    """
    import json, sys, time
    from graderq import client
    from graderq.errors import BackendUnavailable
    accepted, refusals, others = [], [], []
    end = time.monotonic() + float(sys.argv[1])
    while time.monotonic() < end:
        started = time.monotonic()
        try:
            accepted.append(client.submit("python", "echo ok").id)
        except BackendUnavailable:
            refusals.append(time.monotonic() - started)
        except Exception as exc:
            others.append(repr(exc))
        time.sleep(0.2)
    from celery.result import AsyncResult
    from graderq.queue.app import app
    results = {}
    for task_id in accepted:
        handle = AsyncResult(task_id, app=app)
        try:
            results[task_id] = client.wait(handle, timeout=180)["stdout"].decode()
        except Exception as exc:
            results[task_id] = repr(exc)
    print(json.dumps({"accepted": accepted, "refusals": refusals, "others": others,
                      "results": results}))
    """
)


def test_a_30_s_redis_outage_while_a_producer_submits(
    start_own_worker: Callable[..., WorkerProcess], own_redis: RedisServer
) -> None:
    urls = {
        "GRADERQ_BROKER_URL": f"{own_redis.url}/0",
        "GRADERQ_RESULT_BACKEND": f"{own_redis.url}/1",
    }
    start_own_worker("steady", **urls)
    producer = subprocess.Popen(
        [sys.executable, "-c", PRODUCER, "50"],
        cwd=REPO,
        env={**os.environ, **urls},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(8)  # submissions before the outage
    own_redis.stop()
    time.sleep(30)  # the outage
    own_redis.start()
    out, err = producer.communicate(timeout=300)
    assert producer.returncode == 0, err
    report = json.loads(out)
    timeout = get_settings().broker_timeout
    assert report["others"] == []
    assert report["refusals"], "the outage refused no submission"
    assert max(report["refusals"]) <= timeout + 2, report["refusals"]
    assert len(report["accepted"]) > 10
    assert set(report["results"].values()) == {"ok\n"}  # every accepted task ran


HUNG_PRODUCER = textwrap.dedent(
    """
    import json, os, signal, sys, time
    from graderq import client
    from graderq.errors import BackendUnavailable
    handle = client.submit("python", "true")  # no worker: it stays pending
    def working_directory():
        with client.working_directory():
            pass
    calls = {
        "submit": lambda: client.submit("python", "true"),
        "result": lambda: client.result(handle.id),
        "wait": lambda: client.wait(handle, timeout=120),
        "working_directory": working_directory,
    }
    os.kill(int(sys.argv[1]), signal.SIGSTOP)  # Redis hangs: it accepts, never answers
    seconds = {}
    try:
        for name, call in calls.items():
            started = time.monotonic()
            try:
                call()
                seconds[name] = "returned"
            except BackendUnavailable:
                seconds[name] = time.monotonic() - started
            except Exception as exc:
                seconds[name] = repr(exc)
    finally:
        os.kill(int(sys.argv[1]), signal.SIGCONT)
    print(json.dumps(seconds))
    """
)


def test_a_redis_that_hangs_gives_backend_unavailable_within_the_broker_timeout(
    own_redis: RedisServer,
) -> None:
    """Not refused but silent (a network partition, a stopped VM): every producer call
    still ends within GRADERQ_BROKER_TIMEOUT (default 10 s), not Celery's 120 s."""
    urls = {
        "GRADERQ_BROKER_URL": f"{own_redis.url}/0",
        "GRADERQ_RESULT_BACKEND": f"{own_redis.url}/1",
    }
    pid = own_redis.pid()
    try:
        done = subprocess.run(
            [sys.executable, "-c", HUNG_PRODUCER, str(pid)],
            cwd=REPO,
            env={**os.environ, **urls},
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        os.kill(pid, signal.SIGCONT)
    assert done.returncode == 0, done.stderr
    seconds = json.loads(done.stdout)
    timeout = get_settings().broker_timeout
    print(f"seconds to BackendUnavailable from a hung Redis: {seconds}")
    assert set(seconds) == {"submit", "result", "wait", "working_directory"}
    for name, took in seconds.items():
        assert isinstance(took, float) and took <= timeout + 2, (name, took)


WORKDIR_PRODUCER = textwrap.dedent(
    """
    import sys, time
    import docker, redis
    from graderq import client
    port = int(sys.argv[1])
    try:
        with client.working_directory() as workdir:
            client.run("python", "echo in-workdir", workdir=workdir, timeout=60)
            print("volume", workdir.volume, flush=True)
            redis.Redis(port=port).shutdown(save=False)  # the broker is lost
            raise ValueError("the block's own error")
    except ValueError as exc:
        print("raised", exc, flush=True)
    volumes = docker.from_env().volumes
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if not [v for v in volumes.list() if v.name == workdir.volume]:
            print("removed", flush=True)
            break
        time.sleep(0.5)
    """
)


def test_the_broker_lost_inside_a_workdir_block(
    start_own_worker: Callable[..., WorkerProcess], own_redis: RedisServer
) -> None:
    urls = {
        "GRADERQ_BROKER_URL": f"{own_redis.url}/0",
        "GRADERQ_RESULT_BACKEND": f"{own_redis.url}/1",
    }
    start_own_worker("holder", **urls)
    producer = subprocess.Popen(
        [sys.executable, "-c", WORKDIR_PRODUCER, str(own_redis.port)],
        cwd=REPO,
        env={**os.environ, **urls},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until(lambda: not own_redis.answers(), 60, "the producer to stop the broker")
    time.sleep(5)  # the broker stays away a while
    own_redis.start()
    out, err = producer.communicate(timeout=180)
    assert "raised the block's own error" in out, err
    assert "removed" in out, out + err
