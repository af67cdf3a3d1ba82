"""graderq as a guest in an LMS's own Celery: nothing leaks into the LMS's worker, and
results reach the LMS by id and by callback. Real Redis, real worker processes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import redis

from graderq import client, keys
from graderq.errors import CallbackError, ProfileError, RequestError, UnknownTask, WorkdirError
from graderq.queue.launcher import WorkerProcess

from . import lmsapp
from .conftest import REPO, wait_until


@pytest.fixture(scope="module")
def graderq_worker(start_worker: Callable[..., WorkerProcess]) -> WorkerProcess:
    return start_worker(
        "guest",
        GRADERQ_DEFAULT_LIMITS__REALTIME="12",
        GRADERQ_WEBHOOK_SECRET="s3cret",
        GRADERQ_WEBHOOK_TIMEOUT="1",
        GRADERQ_WEBHOOK_RETRY_FOR="4",
    )


@pytest.fixture(scope="module")
def lms_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`celery -A tests.distributed.lmsapp worker -Q lms`: the LMS's own worker."""
    log = tmp_path_factory.mktemp("lms") / "lms-worker.log"
    command = [sys.executable, "-m", "celery", "-A", "tests.distributed.lmsapp", "worker"]
    command += ["-Q", "lms", "-n", "lms@%h", "-c", "1", "-l", "INFO", "--without-mingle"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until(lambda: " ready." in log.read_text(), 60, "the LMS worker")
        yield log
    finally:
        process.terminate()
        process.wait(30)


def kept(key: str) -> dict | None:
    value = redis.Redis.from_url(lmsapp.get_settings().result_backend).get(lmsapp.KEPT + key)
    return None if value is None else json.loads(value)


def test_the_lms_worker_gets_none_of_graderqs_tasks_queues_or_chores(
    graderq_worker: WorkerProcess, lms_worker: Path
) -> None:
    log = lms_worker.read_text()
    banner = log.split("[tasks]")[1].split("[")[0]
    assert "lms.store_grade" in banner
    assert "graderq." not in banner
    assert "graderq.node." not in log and "Traceback" not in log
    assert "DockerUnavailable" not in log


def test_a_new_tenants_queue_is_added_to_graderqs_workers_only(
    graderq_worker: WorkerProcess, lms_worker: Path
) -> None:
    """graderq broadcasts "consume this tenant's queue" on a control exchange of its own:
    on Celery's shared one, the LMS's worker took the queue too, and dropped graderq's
    tasks as unregistered."""
    tenant = f"course-{uuid.uuid4().hex[:8]}"
    result = client.wait(client.submit("python", "echo t", tenant=tenant), timeout=60)
    assert result["stdout"] == b"t\n"
    replies = lmsapp.app.control.inspect(timeout=5).active_queues() or {}
    lms_queues = {queue["name"] for queues in replies.values() for queue in queues}
    assert replies and lms_queues == {"lms"}, replies
    log = lms_worker.read_text()
    assert "graderq.tenant." not in log and "unregistered" not in log.lower(), log[-2000:]


def test_a_signature_callback_reaches_the_lms_worker_with_the_result_first(
    graderq_worker: WorkerProcess, lms_worker: Path
) -> None:
    key = f"run-{uuid.uuid4()}"
    callback = lmsapp.app.signature("lms.store_grade", args=[key], queue="lms")
    handle = client.submit("python", "echo hi", callback=callback)
    stored = wait_until(lambda: kept(key), 60, "the callback")
    assert stored["stdout"] == "hi\n" and stored["exit_code"] == 0
    assert client.result(handle.id)["stdout"] == b"hi\n"
    log = lms_worker.read_text()
    assert "lms.store_grade" in log and "Task graderq." not in log
    assert "Task lms." not in graderq_worker.output()


def test_a_grading_and_a_compile_and_run_call_back_once_their_last_task_ends(
    graderq_worker: WorkerProcess, lms_worker: Path
) -> None:
    graded, compiled = f"grade-{uuid.uuid4()}", f"car-{uuid.uuid4()}"
    run = {"profile_name": "python", "command": "python3 main.py"}
    files = [{"name": "main.py", "content": "print(sum(map(int, input().split())))"}]
    tests = [{"stdin": "1 2", "expected": "3"}, {"stdin": "2 2", "expected": "5"}]
    client.grade(
        run,
        tests,
        files=files,
        callback=lmsapp.app.signature("lms.store_grade", args=[graded], queue="lms"),
    )
    client.compile_and_run(
        {"profile_name": "python", "command": "true"},
        [run | {"stdin": "4 5"}],
        files=files,
        callback=lmsapp.app.signature("lms.store_grade", args=[compiled]),
    )
    report = wait_until(lambda: kept(graded), 60, "the grading's callback")
    assert report["verdict"] == "wrong answer" and report["passed"] == 1
    outcome = wait_until(lambda: kept(compiled), 60, "compile_and_run's callback")
    assert outcome["runs"][0]["stdout"] == "9\n"


def test_a_failed_task_calls_back_with_its_error(
    graderq_worker: WorkerProcess, lms_worker: Path
) -> None:
    key = f"bad-{uuid.uuid4()}"
    handle = client.submit(
        "no-such-profile", "true", callback=lmsapp.app.signature("lms.store_grade", args=[key])
    )
    stored = wait_until(lambda: kept(key), 60, "the failure's callback")
    assert stored == {
        "task_id": handle.id,
        "error": "ProfileError",
        "message": stored["message"],
    }
    assert "no-such-profile" in stored["message"]


def test_results_by_id(graderq_worker: WorkerProcess) -> None:
    handle = client.submit("python", "sleep 1; echo done")
    assert client.result(handle.id) is None  # pending, and issued by graderq
    result = wait_until(lambda: client.result(handle.id), 60, "the result")
    assert result["stdout"] == b"done\n"
    failed = client.submit("python", "true", limits={"memory": -5})
    wait_until(lambda: failed.ready(), 60, "the bad request")
    with pytest.raises(RequestError, match="memory"):
        client.result(failed.id)
    with pytest.raises(UnknownTask, match="never issued"):
        client.result(str(uuid.uuid4()))
    with pytest.raises(ValueError, match="not a task id"):
        client.result("'; DROP TABLE")


@pytest.mark.parametrize("how", ["run", "submit", "delay"])
def test_waiting_inside_an_lms_task_says_what_to_do_instead(
    graderq_worker: WorkerProcess, lms_worker: Path, how: str
) -> None:
    key = f"waits-{uuid.uuid4()}"
    lmsapp.waits_for_a_run.delay(key, how)
    stored = wait_until(lambda: kept(key), 60, "the LMS task")
    assert stored["error"] == "WaitInsideTask"
    assert "callback=" in stored["message"] and "graderq.client.result" in stored["message"]


def test_time_limits_come_from_the_workers_limits(graderq_worker: WorkerProcess) -> None:
    # The worker's default realtime is 12 s; this producer's is 5, which once made
    # Celery's soft limit 5 + 3 s and cut the run short.
    result = client.run("python", "sleep 9; echo slept", timeout=60)
    assert result["stdout"] == b"slept\n" and result["timeout"] is False


@pytest.mark.parametrize(
    "callback", ["ftp://example.invalid/x", "not a url", 42, {"task": "lms.x"}]
)
def test_a_bad_callback_is_refused_before_anything_is_queued(
    redis_client: redis.Redis, callback: object
) -> None:
    before = queued(redis_client)
    with pytest.raises(CallbackError, match="callback"):
        client.submit("python", "true", callback=callback)
    with pytest.raises(CallbackError):
        client.grade(
            {"profile_name": "python", "command": "true"}, [{"expected": ""}], callback=callback
        )
    assert queued(redis_client) == before


def queued(redis_client: redis.Redis) -> int:
    """Messages waiting in the default tenant's queue, at every priority level."""
    return sum(
        redis_client.llen(key) for key in ["graderq", *(f"graderq:{n}" for n in range(1, 10))]
    )


class Silent(BaseHTTPRequestHandler):
    """A webhook receiver that reads the request and never answers."""

    hits: ClassVar[list[int]] = []

    def do_POST(self) -> None:
        Silent.hits.append(1)
        self.rfile.read(int(self.headers["Content-Length"]))
        threading.Event().wait(30)

    def log_message(self, *args: object) -> None:
        pass


def test_a_webhook_that_never_answers_stops_being_retried(
    graderq_worker: WorkerProcess,
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Silent)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    results = redis.Redis.from_url(lmsapp.get_settings().result_backend)
    failures = int(results.get(keys.CALLBACK_FAILURES) or 0)
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        handle = client.submit("python", "echo stored", callback=url)
        assert wait_until(lambda: client.result(handle.id), 30, "the result")["stdout"]
        wait_until(
            lambda: int(results.get(keys.CALLBACK_FAILURES) or 0) > failures, 60, "giving up"
        )
        attempts = len(Silent.hits)
        assert 2 <= attempts <= 6  # 1 s timeouts, 1-2 s apart, within 4 s
    finally:
        server.shutdown()
    with pytest.raises(WorkdirError):
        client.submit("python", "true", workdir={"volume": ""})  # type: ignore[arg-type]


def test_a_grading_whose_runs_fail_raises_the_runs_own_error(
    graderq_worker: WorkerProcess,
) -> None:
    handle = client.grade(
        {"profile_name": "no-such-profile", "command": "true"},
        [{"stdin": "", "expected": ""}],
        compile={"profile_name": "python", "command": "true"},
    )
    with pytest.raises(ProfileError, match="no-such-profile"):
        client.wait(handle, timeout=60)
    with pytest.raises(ProfileError, match="no-such-profile"):
        client.result(handle.id)
