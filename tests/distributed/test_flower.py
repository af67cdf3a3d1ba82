"""Flower, behind basic auth, shows a real worker and its finished tasks (no contents)."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from graderq.queue.tasks import run_sandbox

from .conftest import REPO, Worker, wait_until

AUTH = "grader:s3cret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def flower(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("flower") / "flower.log"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "graderq",
        "flower",
        f"--port={port}",
        "--address=127.0.0.1",
        f"--basic-auth={AUTH}",
    ]
    with Path(log).open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: get(url + "/api/workers") is not None, 60, "Flower to answer")
        yield url
    finally:
        process.terminate()
        process.wait(30)


def get(url: str, auth: str | None = AUTH) -> object | None:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, ConnectionError):
        return None


def test_flower_needs_credentials(flower: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(flower + "/api/workers", timeout=5)
    assert info.value.code == 401


def test_flower_shows_the_worker_and_a_finished_task_without_contents(
    flower: str, start_worker: Callable[..., Worker]
) -> None:
    worker = start_worker("flowered", concurrency=1)
    wait_until(
        lambda: worker.hostname in (get(flower + "/api/workers?refresh=1") or {}),
        60,
        "Flower to list the worker",
    )
    result = run_sandbox.delay(
        "python",
        "cat data.txt",
        files=[{"name": "data.txt", "content": "TOP-SECRET"}],
        stdin="HIDDEN-INPUT",
    )
    assert result.get(timeout=60)["stdout"] == b"TOP-SECRET"

    def finished() -> dict | None:
        task = get(f"{flower}/api/task/info/{result.id}")
        return task if isinstance(task, dict) and task.get("state") == "SUCCESS" else None

    task = wait_until(finished, 60, "Flower to see the finished task")
    assert task["name"] == "graderq.run_sandbox"
    assert task["worker"] == worker.hostname
    assert "data.txt" in task["kwargs"] and "<12 bytes>" in task["kwargs"]
    assert "TOP-SECRET" not in task["kwargs"] + task["args"]
    assert "HIDDEN-INPUT" not in task["kwargs"] + task["args"]
