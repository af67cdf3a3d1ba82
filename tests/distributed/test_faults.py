"""Infrastructure faults: a Docker daemon restarted mid-run, a vanished workdir host,
a broker restarted with tasks queued."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from graderq import client
from graderq.errors import WorkdirLost
from graderq.queue.app import make_app
from graderq.queue.tasks import run_sandbox
from graderq.settings import Settings, get_settings

from .conftest import Daemon, Worker, sandbox_containers, wait_until


def test_a_daemon_restart_mid_run_is_retried_and_leaves_nothing(
    second_daemon: Daemon, start_own_worker: Callable[..., Worker]
) -> None:
    start_own_worker("restarted", concurrency=1, GRADERQ_DOCKER_URL=second_daemon.url)
    marker = uuid.uuid4().hex
    result = run_sandbox.delay(
        "python", f": {marker}; sleep 1; echo survived", limits={"cputime": 1, "realtime": 8}
    )

    def ours() -> list[dict]:
        return [c for c in sandbox_containers(second_daemon.url) if marker in c["Command"]]

    wait_until(lambda: [c for c in ours() if c["State"] == "running"], 30, "the sandbox")
    second_daemon.restart()
    outcome = result.get(timeout=120)
    assert outcome["exit_code"] == 0 and outcome["stdout"] == b"survived\n"
    wait_until(lambda: not ours(), 30, "every container of the task to be removed")
    assert run_sandbox.delay("python", "echo still serving").get(timeout=60)["exit_code"] == 0


def test_a_vanished_workdir_host_fails_fast_with_a_typed_error(
    second_daemon: Daemon, start_own_worker: Callable[..., Worker]
) -> None:
    holder = start_own_worker("holder", concurrency=1, GRADERQ_DOCKER_URL=second_daemon.url)
    with client.working_directory() as workdir:  # only the holder runs: it makes it
        start_own_worker("bystander", concurrency=1)  # a live worker on another host
        assert client.run("python", "echo 1 > n", workdir=workdir, timeout=60)["exit_code"] == 0
        holder.kill()
        pending = client.submit("python", "cat n", workdir=workdir)
        started = time.monotonic()
        with pytest.raises(WorkdirLost, match="no live worker"):
            client.wait(pending, workdir, timeout=120)
        elapsed = time.monotonic() - started
    assert elapsed < 30, f"WorkdirLost took {elapsed:.1f} s"


@pytest.fixture
def broker_factory(tmp_path: Path) -> Iterator[Callable[[bool], tuple[str, Callable]]]:
    """A Redis broker of its own on port 6390 (the shared one is left alone)."""
    server = shutil.which("redis-server") or "redis-server"
    processes: list[subprocess.Popen] = []

    def start(persistent: bool) -> tuple[str, Callable[[], None]]:
        options = ["--appendonly", "yes", "--appendfsync", "always"] if persistent else []
        command = [
            server,
            "--port",
            "6390",
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(tmp_path),
            *options,
        ]

        def launch() -> None:
            with (tmp_path / "redis.log").open("ab") as log:
                processes.append(
                    subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
                )
            wait_until(_pings, 20, "the test broker")

        def restart() -> None:
            processes[-1].terminate()
            processes[-1].wait(20)
            launch()

        launch()
        return "redis://127.0.0.1:6390/0", restart

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
            process.wait(20)


def _pings() -> bool:
    try:
        return bool(redis.Redis(port=6390, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.mark.parametrize("persistent", [False, True], ids=["in-memory", "append-only"])
def test_broker_restart_with_tasks_queued(
    persistent: bool, broker_factory: Callable, start_own_worker: Callable[..., Worker]
) -> None:
    """In-memory Redis loses the queued tasks on restart; append-only Redis loses none."""
    broker, restart = broker_factory(persistent)
    settings = Settings(broker_url=broker, result_backend=get_settings().result_backend)
    producer = make_app(settings)
    pending = [
        producer.send_task("graderq.run_sandbox", ("python", f"echo {i}")) for i in range(10)
    ]
    restart()  # no worker has consumed anything yet
    start_own_worker(f"after-restart-{persistent}", concurrency=2, GRADERQ_BROKER_URL=broker)
    if persistent:
        outputs = [r.get(timeout=60)["stdout"] for r in pending]
        assert outputs == [f"{i}\n".encode() for i in range(10)]
    else:
        probe = producer.send_task("graderq.run_sandbox", ("python", "echo probe"))
        assert probe.get(timeout=60)["stdout"] == b"probe\n"  # the worker serves...
        assert all(r.state == "PENDING" for r in pending)  # ...but the queue was lost
