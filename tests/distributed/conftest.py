"""Real Redis, real `celery worker` processes, and a second real Docker daemon."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
import redis

from graderq.queue import launcher
from graderq.queue.app import app
from graderq.queue.launcher import WorkerProcess as Worker
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


def _worker_factory(logs: Path) -> tuple[Callable[..., Worker], Callable[[], None]]:
    started: list[Worker] = []

    def start(name: str, concurrency: int = 2, **env: str) -> Worker:
        worker = launcher.start_worker(name, logs / f"{name}.log", concurrency, env)
        started.append(worker)
        return worker

    def stop_all() -> None:
        for worker in started:
            worker.stop()

    return start, stop_all


@pytest.fixture(scope="module")
def start_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Worker]]:
    """Start real workers; every one is stopped when the test module ends."""
    start, stop_all = _worker_factory(tmp_path_factory.mktemp("workers"))
    yield start
    stop_all()


@pytest.fixture
def start_own_worker(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Start real workers that are stopped when the test ends."""
    start, stop_all = _worker_factory(tmp_path)
    yield start
    stop_all()


@pytest.fixture(scope="session", autouse=True)
def quiet_result_consumer() -> Iterator[None]:
    """Stop the result subscription before Python shuts down: AsyncResult finalisers
    otherwise reconnect to Redis during interpreter teardown and print tracebacks."""
    yield
    consumer = app.backend.result_consumer
    consumer.stop()
    consumer._pubsub = None  # nothing left to unsubscribe from


class Daemon:
    """A second, independent Docker daemon (a second "host") on this machine.

    It runs in its own network namespace: a daemon started with --bridge none would
    otherwise delete the docker0 bridge of the first daemon.
    """

    url = f"unix://{SECOND_SOCKET}"

    def __init__(self, log: Path) -> None:
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        SECOND_ROOT.mkdir(parents=True, exist_ok=True)
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
            self.url,
            "--bridge",
            "none",
            "--iptables=false",
        ]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        wait_until(self._answers, 60, "the second Docker daemon")

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"second dockerd exited:\n{self.log.read_text()[-3000:]}")
        try:
            docker.APIClient(base_url=self.url, timeout=5).close()
        except docker.errors.DockerException:
            return False
        return True

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def load_images(self) -> None:
        client = docker.DockerClient(base_url=self.url, timeout=120)
        try:
            missing = [image for image in IMAGES if not client.images.list(name=image)]
        finally:
            client.close()
        if missing:
            save = subprocess.Popen(["docker", "save", *missing], stdout=subprocess.PIPE)
            subprocess.run(
                ["docker", "-H", self.url, "load", "-q"],
                stdin=save.stdout,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            assert save.wait() == 0


@pytest.fixture(scope="session")
def second_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """The second Docker daemon with the sandbox images; stopped after the session."""
    daemon = Daemon(tmp_path_factory.mktemp("dockerd2") / "dockerd.log")
    try:
        daemon.start()
        daemon.load_images()
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture(scope="session")
def second_docker(second_daemon: Daemon) -> str:
    """The second daemon's URL."""
    return second_daemon.url


def sandbox_containers(docker_url: str | None = None) -> list[dict]:
    api = docker.APIClient(base_url=docker_url or "unix:///var/run/docker.sock")
    try:
        return api.containers(all=True, filters={"label": "graderq=sandbox"})
    finally:
        api.close()
