"""run_sandbox through real Redis and a real worker: results, errors, settings."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from celery.exceptions import TimeoutError as CeleryTimeout

import graderq
from graderq import client, keys
from graderq.errors import ProfileError, ResultTimeout, TooManyDeliveries
from graderq.queue.app import app
from graderq.queue.records import redis_client
from graderq.queue.tasks import run_sandbox
from graderq.queue.worker import current_node
from graderq.sandbox.spec import KIND_WORKDIR, LABEL

from .conftest import Worker, wait_until


@pytest.fixture(scope="module")
def worker(start_worker: Callable[..., Worker]) -> Worker:
    # One process: tasks run in the order they were sent.
    return start_worker("queue", concurrency=1, GRADERQ_LIMIT_CEILINGS__MEMORY="256")


def test_messages_and_results_are_json_only() -> None:
    conf = app.conf
    assert conf.task_serializer == conf.result_serializer == "json"
    assert conf.accept_content == conf.result_accept_content == ["json"]
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1


def test_result_through_the_queue_equals_the_local_run(worker: Worker) -> None:
    request = dict(
        profile_name="python",
        command="python3 main.py; printf '\\377\\000' >&2",
        files=[{"name": "main.py", "content": "import sys; print(sys.stdin.read()[::-1])"}],
        stdin=b"abc",
        limits={"cputime": 2, "memory": 64},
    )
    remote = run_sandbox.delay(**request).get(timeout=30)
    local = graderq.run(**request)
    for measured in ("duration", "cpu_time", "memory_peak"):  # differ from run to run
        assert remote.pop(measured) >= 0 and local.pop(measured) >= 0
    assert remote == local
    assert remote["stdout"] == b"cba\n" and remote["stderr"] == b"\xff\x00"
    assert isinstance(remote["stdout"], bytes)


@pytest.mark.parametrize(
    ("request_", "error", "match"),
    [
        ({"profile_name": "nope"}, graderq.ProfileError, "Profile not found: 'nope'"),
        ({"files": [{"name": "../etc/x", "content": b""}]}, graderq.FileError, "'../etc/x'"),
        ({"limits": {"memory": 512}}, graderq.LimitError, "above the operator's ceiling"),
        ({"limits": {"realtime": 1000}}, graderq.LimitError, "'realtime'"),
        ({"stdin": 5}, TypeError, "stdin"),
        ({"workdir": {"volume": "graderq-wd-forged", "node": None}}, ValueError, "workdir"),
    ],
)
def test_bad_requests_fail_fast_and_are_not_redelivered(
    worker: Worker, request_: dict, error: type, match: str
) -> None:
    result = run_sandbox.delay(**({"profile_name": "python", "command": "true"} | request_))
    with pytest.raises(error, match=match):
        result.get(timeout=30)
    assert int(redis_client().get(keys.DELIVERIES + result.id)) == 1


def test_every_start_is_counted(worker: Worker) -> None:
    for _ in range(2):
        result = run_sandbox.apply_async(("python", "true"), task_id="twice")
        assert result.get(timeout=30)["exit_code"] == 0
    wait_until(lambda: redis_client().get(keys.DELIVERIES + "twice") == b"2", 30, "2 starts")


def test_a_task_whose_deliveries_all_crashed_is_not_run_again(worker: Worker) -> None:
    """As if each earlier delivery had killed its worker: the next one fails instead."""
    limit = graderq.get_engine().settings.max_deliveries
    redis_client().set(keys.DELIVERIES + "crasher", limit)
    result = run_sandbox.apply_async(("python", "true"), task_id="crasher")
    with pytest.raises(TooManyDeliveries, match=f"delivered {limit + 1} times"):
        result.get(timeout=30)


def test_workdir_runs_share_files_and_the_workdir_is_removed(worker: Worker) -> None:
    with client.working_directory() as workdir:
        assert workdir.node == current_node()
        first = client.run("python", "echo 41 > n", workdir=workdir, timeout=30)
        assert first["exit_code"] == 0
        second = client.run("python", "echo $(($(cat n) + 1))", workdir=workdir, timeout=30)
        assert second["stdout"] == b"42\n"
    backend = graderq.get_engine().backend

    def removed() -> bool:
        try:
            backend.check_workdir(workdir.volume)
        except ValueError:
            return True
        return False

    wait_until(removed, 30, "the workdir to be removed")


def test_a_wait_past_its_timeout_raises_result_timeout(worker: Worker) -> None:
    """A GraderqError, and still Celery's TimeoutError for code that catches that."""
    handle = client.submit("python", "sleep 3")
    for wait in (lambda: client.wait(handle, timeout=0.5), lambda: handle.get(timeout=0.5)):
        with pytest.raises(ResultTimeout) as raised:
            wait()
        assert isinstance(raised.value, graderq.GraderqError)
        assert isinstance(raised.value, CeleryTimeout)
    assert client.wait(handle, timeout=60)["exit_code"] == 0


def workdir_volumes() -> set[str]:
    api = graderq.get_engine().backend.api
    found = api.volumes(filters={"label": f"{LABEL}={KIND_WORKDIR}"})["Volumes"] or []
    return {volume["Name"] for volume in found}


@pytest.mark.parametrize("kind", ["compile_and_run", "grade"])
def test_a_compile_and_run_whose_run_fails_removes_its_workdir(worker: Worker, kind: str) -> None:
    """The failed run fails the chord, so collect_runs never runs: the chord body's
    errback removes the workdir, which would otherwise hold a disk until
    GRADERQ_WORKDIR_TTL (an hour). A grading's body is collect_runs and its judge."""
    before = workdir_volumes()
    compile_step = {"profile_name": "python", "command": "echo compiled > out"}
    if kind == "grade":
        tests = [{"stdin": "", "expected": "compiled"}]
        pending = client.grade({"profile_name": "no-such-profile"}, tests, compile_step)
    else:
        runs = [{"profile_name": "python", "command": "cat out"}]
        runs.append({"profile_name": "no-such-profile"})
        pending = client.compile_and_run(compile_step, runs)
    with pytest.raises(ProfileError, match="no-such-profile"):
        client.wait(pending, timeout=60)
    wait_until(lambda: workdir_volumes() <= before, 60, "the failed grading's workdir removed")


def test_a_workdir_asked_through_the_queue_is_a_disk_of_that_size(worker: Worker) -> None:
    with client.working_directory(disk=16) as workdir:
        result = client.run(
            "python", "df -m . | tail -1; head -c 20000000 /dev/zero > big", workdir=workdir
        )
    size_mb = int(result["stdout"].split()[1])
    assert 12 <= size_mb <= 16 and b"No space left on device" in result["stderr"], result


def test_a_bad_workdir_size_is_refused_by_the_worker(worker: Worker) -> None:
    with pytest.raises(graderq.LimitError, match="'disk'"), client.working_directory(disk=0):
        pass
