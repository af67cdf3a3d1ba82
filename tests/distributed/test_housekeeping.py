"""Workers clean up after producers and workers that died: expiry, janitor, heartbeats."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable

import docker
import pytest

from graderq.engine import Engine
from graderq.limits import Limits
from graderq.queue.records import node_alive
from graderq.sandbox import ContainerSpec, DockerBackend
from graderq.sandbox.janitor import sweep
from graderq.settings import Settings, get_settings

from .conftest import REPO, Worker, wait_until


def volumes(label: str) -> set[str]:
    api = docker.APIClient()
    try:
        return {v["Name"] for v in api.volumes(filters={"label": label})["Volumes"] or []}
    finally:
        api.close()


def test_a_producer_killed_inside_a_workdir_block_leaves_nothing(
    start_worker: Callable[..., Worker],
) -> None:
    start_worker("expiry", concurrency=1, GRADERQ_WORKDIR_TTL="2", GRADERQ_JANITOR_INTERVAL="1")
    producer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent("""
            import os, signal
            from graderq import client
            with client.working_directory() as wd:
                print(wd.volume, flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
        """),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    volume = producer.stdout.readline().strip()
    assert producer.wait(30) == -9
    assert volume in volumes("graderq=workdir")
    wait_until(lambda: volume not in volumes("graderq=workdir"), 40, "the expired workdir")


def test_janitor_removes_orphans_and_keeps_what_is_alive() -> None:
    backend = DockerBackend.from_settings(get_settings())
    engine = Engine(backend=backend, settings=Settings(workdir_ttl=-1))
    expired = engine.open_workdir()
    fresh = Engine(backend=backend, settings=Settings(workdir_ttl=3600)).open_workdir()
    live = engine.create("python", "sleep 30")  # its owner (this process) is alive
    old_labels = {"graderq": "sandbox", "graderq.created": "0", "graderq.owner": "elsewhere:1"}
    old = backend.create(ContainerSpec("graderq/python:3.11", "true", Limits(), labels=old_labels))
    try:
        sweep(backend, max_age=3600)
        assert expired.volume not in volumes("graderq=workdir")
        assert fresh.volume in volumes("graderq=workdir")
        backend.api.inspect_container(live.container)  # kept: its owner lives
        with pytest.raises(docker.errors.NotFound):
            backend.api.inspect_container(old)  # removed: older than any task may run
    finally:
        backend.destroy(live.container)
        backend.destroy(old)
        engine.close_workdir(fresh)


def test_producer_needs_no_docker_engine(start_worker: Callable[..., Worker]) -> None:
    start_worker("nodocker", concurrency=1)
    env = os.environ | {
        "DOCKER_HOST": "unix:///nonexistent/docker.sock",
        "GRADERQ_DOCKER_URL": "unix:///nonexistent/docker.sock",
    }
    code = "from graderq import client; print(client.run('python', 'echo $((6*7))', timeout=60))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert "'stdout': b'42\\n'" in done.stdout


def test_heartbeat_marks_live_nodes(start_worker: Callable[..., Worker]) -> None:
    worker = start_worker("beating", concurrency=1)
    node = DockerBackend.from_settings(get_settings()).node_id()
    wait_until(lambda: node_alive(node), 20, "the node's heartbeat")
    assert not node_alive("no-such-node")
    worker.stop()
