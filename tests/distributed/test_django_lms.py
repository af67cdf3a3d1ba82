"""graderq inside a real LMS: the Django project in examples/django_lms, its own Celery
worker and a graderq worker on one broker, driven over real HTTP."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import redis

from graderq import client, keys
from graderq.errors import CallbackError
from graderq.queue import callbacks
from graderq.queue.launcher import READY
from graderq.queue.launcher import WorkerProcess as Process
from graderq.queue.routing import DEFAULT_QUEUE
from graderq.settings import get_settings

from .conftest import REPO, Worker, wait_until

LMS = REPO / "examples" / "django_lms"
SECRET = "lms-test-webhook-secret"
CORRECT = "a, b = map(int, input().split())\nprint(a + b)\n"
WRONG = "a, b = map(int, input().split())\nprint(a - b)\n"
TESTS_PER_GRADING = 3  # grades.grading.TESTS
TASK_LINE = re.compile(r"Task (\S+)\[([0-9a-f-]{36})\] (received|succeeded)")


def lms_env(database: Path) -> dict[str, str]:
    """The LMS's processes: this checkout's graderq, graderq's broker and backend."""
    settings = get_settings()
    return os.environ | {
        "PYTHONPATH": str(REPO),
        "DJANGO_SETTINGS_MODULE": "lms.settings",
        "LMS_DATABASE": str(database),
        "LMS_BROKER_URL": settings.broker_url,
        "GRADERQ_BROKER_URL": settings.broker_url,
        "GRADERQ_RESULT_BACKEND": settings.result_backend,
        "LMS_DEBUG": "0",
        "LMS_WAIT_TIMEOUT": "30",
    }


def spawn(name: str, command: list[str], log: Path, env: dict[str, str]) -> Process:
    """A process in its own session, in the LMS's directory, its output to `log`."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=LMS,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Process(name, process, log)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def task_lines(log: str) -> list[tuple[str, str, str]]:
    """(task name, task id, event) for every received/succeeded line of a worker log."""
    return TASK_LINE.findall(log)


def banner_section(log: str, title: str) -> list[str]:
    """The lines of a worker banner's [title] section."""
    section = log.split(f"[{title}]", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in section.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def grader(start_worker: Callable[..., Worker]) -> Worker:
    return start_worker("grader", concurrency=2, GRADERQ_WEBHOOK_SECRET=SECRET)


@dataclass
class Site:
    """The LMS's processes: its Celery worker (queue "lms") and its Django server."""

    worker: Process
    server: Process
    url: str

    def serves(self) -> bool:
        if self.server.process.poll() is not None:
            raise AssertionError(f"the LMS's server exited:\n{self.server.output()[-3000:]}")
        try:
            return httpx.get(self.url + "/", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def worker_ready(self) -> bool:
        if self.worker.process.poll() is not None:
            raise AssertionError(f"the LMS's worker exited:\n{self.worker.output()[-3000:]}")
        return READY in self.worker.output()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The LMS on a fresh SQLite database, migrated; both processes stopped at the end."""
    root = tmp_path_factory.mktemp("lms")
    env = lms_env(root / "lms.sqlite3")
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=LMS, env=env, check=True, timeout=60)
    port = free_port()
    worker = spawn(
        "lms-worker",
        [sys.executable, "-m", "celery", "-A", "lms", "worker", "-Q", "lms", "-n", "lms@%h",
         "-c", "1", "--without-mingle", "--without-gossip", "-l", "INFO"],
        root / "lms-worker.log",
        env,
    )  # fmt: skip
    try:
        server = spawn(
            "lms-server",
            [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
            root / "lms-server.log",
            env,
        )
        try:
            lms = Site(worker, server, f"http://127.0.0.1:{port}")
            wait_until(lms.worker_ready, 60, "the LMS's worker")
            wait_until(lms.serves, 60, "the LMS's server")
            yield lms
        finally:
            server.stop()
    finally:
        worker.stop()


@pytest.fixture(scope="module")
def lms(grader: Worker, site: Site) -> Iterator[httpx.Client]:
    """An HTTP client of the LMS, holding its CSRF cookie as a browser would."""
    with httpx.Client(base_url=site.url, timeout=40) as http:
        http.get("/").raise_for_status()
        http.headers["X-CSRFToken"] = http.cookies["csrftoken"]
        yield http


@pytest.fixture(scope="module")
def submissions(lms: httpx.Client) -> dict[tuple[str, str], dict]:
    """A correct and a wrong submission per way of getting the verdict, sent at once."""
    made = {}
    for way in ("callback", "poll", "wait"):
        for kind, code in (("correct", CORRECT), ("wrong", WRONG)):
            answer = lms.post("/submissions/", json={"code": code, "callback": way == "callback"})
            assert answer.status_code == 202, answer.text
            made[way, kind] = answer.json()
    return made


def stored(lms: httpx.Client, submission: dict) -> dict:
    answer = lms.get(f"/submissions/{submission['id']}/", headers={"Accept": "application/json"})
    answer.raise_for_status()
    return answer.json()


EXPECTED = {"correct": ("accepted", 3), "wrong": ("wrong answer", 0)}


def test_verdicts_arrive_by_callback(lms: httpx.Client, submissions: dict, site: Site) -> None:
    for kind, (verdict, passed) in EXPECTED.items():
        submission = submissions["callback", kind]
        wait_until(lambda s=submission: client.result(s["task_id"]), 30, "the grading")
        # graderq sends the callback once the result is stored: it is due within seconds.
        state = wait_until(
            lambda s=submission: stored(lms, s)["verdict"] and stored(lms, s), 10, "the callback"
        )
        assert (state["verdict"], state["passed"], state["total"]) == (verdict, passed, 3)
        assert state["graded_by"] == "callback"
        page = lms.get(f"/submissions/{submission['id']}/").text
        assert f'<strong id="verdict">{verdict}</strong>' in page
    lines = task_lines(site.worker.output())
    assert Counter(name for name, _, event in lines if event == "received") == {
        "lms.store_grade": 2
    }


def test_verdicts_by_id_through_the_poll_path(lms: httpx.Client, submissions: dict) -> None:
    for kind, (verdict, passed) in EXPECTED.items():
        submission = submissions["poll", kind]
        url = f"/submissions/{submission['id']}/poll"
        state = wait_until(lambda u=url: (j := lms.get(u).json())["ready"] and j, 30, "a verdict")
        assert (state["verdict"], state["passed"], state["total"]) == (verdict, passed, 3)
        assert state["graded_by"] == "poll"
        assert stored(lms, submission)["verdict"] == verdict


def test_verdicts_by_waiting(lms: httpx.Client, submissions: dict) -> None:
    for kind, (verdict, passed) in EXPECTED.items():
        submission = submissions["wait", kind]
        answer = lms.get(f"/submissions/{submission['id']}/wait")
        assert answer.status_code == 200, answer.text
        state = answer.json()
        assert (state["verdict"], state["passed"], state["graded_by"]) == (verdict, passed, "wait")
        assert stored(lms, submission)["verdict"] == verdict


class Receiver(BaseHTTPRequestHandler):
    """A webhook receiver that answers 500 to the first POST and 200 afterwards."""

    posts: list[tuple[bytes, str | None]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.posts.append((body, self.headers.get(callbacks.SIGNATURE_HEADER)))
        self.send_response(500 if len(self.posts) == 1 else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list]]:
    posts: list[tuple[bytes, str | None]] = []
    handler = type("Handler", (Receiver,), {"posts": posts})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", posts
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_a_webhook_arrives_signed_and_is_retried_after_a_500(
    grader: Worker, receiver: tuple[str, list]
) -> None:
    url, posts = receiver
    handle = client.submit("python", "echo hi", callback=url)
    wait_until(lambda: len(posts) >= 2, 30, "the webhook's second delivery")
    (first, first_signature), (body, signature) = posts[:2]
    assert first == body and first_signature == signature
    assert callbacks.verify(body, signature, SECRET)
    assert not callbacks.verify(body, signature, "another secret")
    document = json.loads(body)
    assert (document["task_id"], document["state"]) == (handle.id, "SUCCESS")
    assert document["result"]["stdout"] == "hi\n"
    assert document["result"]["stdout_encoding"] == "utf-8"


def test_a_bad_callback_is_refused_at_submit_time_and_queues_nothing(grader: Worker) -> None:
    settings = get_settings()
    broker = redis.Redis.from_url(settings.broker_url)
    backend = redis.Redis.from_url(settings.result_backend)

    def queued() -> tuple[int, int]:
        waiting = sum(
            broker.llen(key)
            for key in [DEFAULT_QUEUE, *(f"{DEFAULT_QUEUE}:{n}" for n in range(1, 10))]
        )
        return waiting, len(list(backend.scan_iter(f"{keys.ISSUED}*")))

    before = queued()
    run = {"profile_name": "python", "command": "python3 main.py"}
    for bad in ("ftp://x", 42, "not a url", "http://"):
        with pytest.raises(CallbackError):
            client.submit("python", "true", callback=bad)
        with pytest.raises(CallbackError):
            client.grade(run, [{"stdin": "1 2", "expected": "3"}], callback=bad)
    assert queued() == before


def test_each_worker_ran_only_its_own_tasks(
    grader: Worker, site: Site, submissions: dict, lms: httpx.Client
) -> None:
    """Last: every grading of this module is done by now (or is waited for)."""
    gradings = len(submissions)
    for submission in submissions.values():
        wait_until(lambda s=submission: client.result(s["task_id"]), 30, "every grading")

    def grader_counts() -> Counter:
        lines = task_lines(grader.output())
        return Counter(name for name, _, event in lines if event == "succeeded")

    wait_until(lambda: grader_counts()["graderq.judge"] == gradings, 30, "the judges' logs")
    lines = task_lines(grader.output())
    received = Counter(name for name, _, event in lines if event == "received")
    tasks = Counter(name for name, _ in {(name, task_id) for name, task_id, _ in lines})
    assert all(name.startswith("graderq.") for name in received), received
    assert tasks["graderq.compile_and_run"] == tasks["graderq.judge"] == gradings
    # Every test case of every grading, pinned to the node's queue, ran here, and the
    # webhook test's run; its webhook was delivered twice (a 500, then a 200).
    assert tasks["graderq.run_test"] == gradings * TESTS_PER_GRADING
    assert tasks["graderq.run_sandbox"] == 1
    assert (tasks["graderq.deliver_webhook"], received["graderq.deliver_webhook"]) == (1, 2)

    worker_log = site.worker.output()
    assert banner_section(worker_log, "tasks") == [". lms.store_grade"]
    queues = banner_section(worker_log, "queues")
    assert len(queues) == 1 and queues[0].startswith(".> lms "), queues
    assert "Traceback" not in worker_log
    lines = task_lines(worker_log)
    assert all(name.startswith("lms.") for name, _, _ in lines), lines
    # Each callback the LMS's worker got stored a verdict (never more than the
    # submissions that asked for one).
    by_callback = [s for s in submissions.values() if stored(lms, s)["graded_by"] == "callback"]
    succeeded = [task_id for name, task_id, event in lines if event == "succeeded"]
    assert len(succeeded) == len(by_callback) <= 2
