"""A worker killed with SIGKILL mid-run loses nothing and leaves no container."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from graderq import keys
from graderq.queue.records import redis_client
from graderq.queue.tasks import run_sandbox

from .conftest import Worker, sandbox_containers, wait_until


def test_task_survives_its_worker_being_killed(start_worker: Callable[..., Worker]) -> None:
    doomed = start_worker("doomed", concurrency=1)
    marker = uuid.uuid4().hex
    result = run_sandbox.delay(
        "python", f": {marker}; sleep 2; echo finished", limits={"cputime": 1, "realtime": 8}
    )

    def ours() -> list[dict]:
        return [c for c in sandbox_containers() if marker in c["Command"]]

    running = wait_until(
        lambda: [c for c in ours() if c["State"] == "running"], 30, "the sandbox to run"
    )
    killed_at = time.monotonic()
    doomed.kill()
    assert doomed.process.returncode == -9
    # The sandbox outlives its worker: an orphan for the janitor to find.
    assert {c["Id"] for c in ours()} == {c["Id"] for c in running}

    start_worker("rescuer", concurrency=1)
    outcome = result.get(timeout=90)
    assert outcome["exit_code"] == 0
    assert outcome["stdout"] == b"finished\n"
    assert int(redis_client().get(keys.DELIVERIES + result.id)) == 2
    wait_until(lambda: not ours(), 30, "the janitor to remove the orphan")
    print(f"redelivered and finished {time.monotonic() - killed_at:.1f} s after the kill")
