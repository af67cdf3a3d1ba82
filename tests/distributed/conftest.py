"""Real Redis, real `celery worker` processes, and a second real Docker daemon."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest
import redis

from graderq.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
IMAGES = ("graderq/python:3.11", "graderq/gcc:12")
SECOND_SOCKET = "/run/graderq-test-d2.sock"
SECOND_ROOT = Path("/var/lib/graderq-test-d2")


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> object:
    """Poll `predicate` until it is truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@dataclass
class Worker:
    """One `celery -A graderq worker` process group."""

    name: str
    process: subprocess.Popen
    log: Path
    env: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def hostname(self) -> str:
        return f"{self.name}@{os.uname().nodename}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL the worker and every process of its group at once."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)


@pytest.fixture(scope="session")
def redis_client() -> redis.Redis:
    settings = get_settings()
    client = redis.Redis.from_url(settings.broker_url)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {settings.broker_url} is not reachable ({exc}); run .ci/run")
    return client


@pytest.fixture(scope="module", autouse=True)
def clean_redis(redis_client: redis.Redis) -> None:
    """Every test module starts with an empty broker and result backend (flushing under
    running workers would drop their queue bindings, so it is done before they start)."""
    settings = get_settings()
    for url in (settings.broker_url, settings.result_backend):
        redis.Redis.from_url(url).flushdb()


@pytest.fixture(scope="module")
def start_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Worker]]:
    """Start real workers; every one is stopped when the test module ends."""
    started: list[Worker] = []
    logs = tmp_path_factory.mktemp("workers")

    def start(name: str, concurrency: int = 2, **env: str) -> Worker:
        log = logs / f"{name}.log"
        full_env = os.environ | env
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "graderq",
            "worker",
            "-n",
            f"{name}@%h",
            "-c",
            str(concurrency),
            "--without-mingle",
            "--without-gossip",
            "-l",
            "INFO",
        ]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                cwd=REPO,
                env=full_env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        worker = Worker(name, process, log, env)
        started.append(worker)

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"worker {name} exited:\n{worker.output()[-3000:]}")
            return " ready." in worker.output()

        wait_until(ready, 60, f"worker {name} to be ready")
        return worker

    yield start
    for worker in started:
        worker.stop()


def _start_second_daemon(log: Path) -> subprocess.Popen:
    SECOND_ROOT.mkdir(parents=True, exist_ok=True)
    # Its own network namespace: a daemon started with --bridge none deletes the
    # shared docker0 bridge of the first daemon otherwise.
    command = [
        "unshare",
        "--net",
        shutil.which("dockerd") or "dockerd",
        "--data-root",
        str(SECOND_ROOT / "data"),
        "--exec-root",
        "/run/graderq-test-d2-exec",
        "--pidfile",
        "/run/graderq-test-d2.pid",
        "-H",
        f"unix://{SECOND_SOCKET}",
        "--bridge",
        "none",
        "--iptables=false",
    ]
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


@pytest.fixture(scope="session")
def second_docker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second, independent Docker daemon (a second "host") with the sandbox images."""
    url = f"unix://{SECOND_SOCKET}"
    log = tmp_path_factory.mktemp("dockerd2") / "dockerd.log"
    process = _start_second_daemon(log)

    def connect() -> docker.DockerClient | None:
        if process.poll() is not None:
            raise AssertionError(f"second dockerd exited:\n{log.read_text()[-3000:]}")
        try:
            return docker.DockerClient(base_url=url, timeout=120)
        except docker.errors.DockerException:
            return None

    client = None
    try:
        client = wait_until(connect, 60, "the second Docker daemon")
        missing = [image for image in IMAGES if not client.images.list(name=image)]
        if missing:
            save = subprocess.Popen(["docker", "save", *missing], stdout=subprocess.PIPE)
            subprocess.run(
                ["docker", "-H", url, "load", "-q"],
                stdin=save.stdout,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            assert save.wait() == 0
        yield url
    finally:
        if client is not None:
            client.close()
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sandbox_containers(docker_url: str | None = None) -> list[dict]:
    api = docker.APIClient(base_url=docker_url or "unix:///var/run/docker.sock")
    try:
        return api.containers(all=True, filters={"label": "graderq=sandbox"})
    finally:
        api.close()
