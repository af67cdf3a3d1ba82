"""A table of malformed requests, each refused clearly by the library and by the queue;
nothing is left behind and the worker keeps serving."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import graderq
from graderq.queue.tasks import run_sandbox

from .conftest import Worker, sandbox_containers

OK = {"profile_name": "python", "command": "true"}
BAD_REQUESTS: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("unknown profile", {"profile_name": "cobol"}, ValueError, "Profile not found: 'cobol'"),
    ("profile not a str", {"profile_name": 7}, ValueError, "Profile not found: 7"),
    ("command not a str", {"command": ["ls", "-l"]}, TypeError, "command must be a str"),
    ("command a number", {"command": 42}, TypeError, "command must be a str"),
    ("files not a list", {"files": "main.py"}, graderq.FileError, "list of"),
    ("file not a dict", {"files": ["main.py"]}, graderq.FileError, "#0 must be a dict"),
    ("empty name", {"files": [{"name": "", "content": "x"}]}, graderq.FileError, "empty"),
    ("absolute name", {"files": [{"name": "/etc/x"}]}, graderq.FileError, "'/etc/x'.*absolute"),
    ("dot-dot name", {"files": [{"name": "../x"}]}, graderq.FileError, r"'\.\./x'"),
    ("deep dot-dot", {"files": [{"name": "a/../../x"}]}, graderq.FileError, r"'a/\.\./\.\./x'"),
    ("NUL in name", {"files": [{"name": "a\0b"}]}, graderq.FileError, "NUL"),
    ("empty component", {"files": [{"name": "a//b"}]}, graderq.FileError, "empty or '.'"),
    ("name not a str", {"files": [{"name": 3}]}, graderq.FileError, "name must be a str"),
    ("content a number", {"files": [{"name": "a", "content": 1}]}, graderq.FileError, "'a'"),
    ("content a list", {"files": [{"name": "a", "content": [1]}]}, graderq.FileError, "'a'"),
    ("unknown file key", {"files": [{"name": "a", "mode": 7}]}, graderq.FileError, "'a'.*mode"),
    ("duplicate names", {"files": [{"name": "a"}, {"name": "a"}]}, graderq.FileError, "twice"),
    ("stdin a number", {"stdin": 12}, TypeError, "stdin must be bytes or str"),
    ("stdin a list", {"stdin": ["a"]}, TypeError, "stdin must be bytes or str"),
    ("limits not a dict", {"limits": [1]}, graderq.LimitError, "limits must be a dict"),
    ("unknown limit", {"limits": {"walltime": 1}}, graderq.LimitError, "'walltime'"),
    ("negative cputime", {"limits": {"cputime": -1}}, graderq.LimitError, "'cputime'"),
    ("zero realtime", {"limits": {"realtime": 0}}, graderq.LimitError, "'realtime'"),
    ("memory a string", {"limits": {"memory": "64m"}}, graderq.LimitError, "'memory'"),
    ("memory a bool", {"limits": {"memory": True}}, graderq.LimitError, "'memory'"),
    ("processes fraction", {"limits": {"processes": 2.5}}, graderq.LimitError, "'processes'"),
    ("processes -2", {"limits": {"processes": -2}}, graderq.LimitError, "'processes'"),
    ("file_size negative", {"limits": {"file_size": -5}}, graderq.LimitError, "'file_size'"),
    ("output unlimited", {"limits": {"output": None}}, graderq.LimitError, "'output'"),
    ("disk zero", {"limits": {"disk": 0}}, graderq.LimitError, "'disk'"),
    ("disk a size string", {"limits": {"disk": "1g"}}, graderq.LimitError, "'disk'"),
    ("workdir a string", {"workdir": "graderq-wd-1"}, ValueError, "working_directory"),
    (
        "workdir forged",
        {"workdir": {"volume": "graderq-wd-nope", "node": None}},
        ValueError,
        "workdir",
    ),
]


@pytest.fixture(scope="module")
def worker(start_worker: Callable[..., Worker]) -> Worker:
    return start_worker("strict", concurrency=1)


def test_the_table_has_enough_rows() -> None:
    assert len(BAD_REQUESTS) >= 25


@pytest.mark.parametrize(
    ("case", "request_", "error", "match"), BAD_REQUESTS, ids=[row[0] for row in BAD_REQUESTS]
)
def test_library_refuses(case: str, request_: dict, error: type, match: str) -> None:
    from graderq.workdir import as_workdir

    request = OK | request_
    if isinstance(request.get("workdir"), dict):
        request["workdir"] = as_workdir(request["workdir"])
    with pytest.raises(error, match=match):
        graderq.run(**request)
    owner = f"{socket.gethostname()}:{os.getpid()}"
    assert not [c for c in sandbox_containers() if c["Labels"].get("graderq.owner") == owner]


@pytest.mark.parametrize(
    ("case", "request_", "error", "match"), BAD_REQUESTS, ids=[row[0] for row in BAD_REQUESTS]
)
def test_queue_refuses(worker: Worker, case: str, request_: dict, error: type, match: str) -> None:
    result = run_sandbox.delay(**(OK | request_))
    with pytest.raises(error, match=match):
        result.get(timeout=30)


def test_worker_still_serves_after_the_table_and_left_nothing(worker: Worker) -> None:
    assert run_sandbox.delay("python", "echo fine").get(timeout=30)["stdout"] == b"fine\n"
    assert worker.process.poll() is None
    group = os.getpgid(worker.process.pid)
    pids = {p.name for p in Path("/proc").iterdir() if p.name.isdigit() and _group(p) == group}
    owners = {f"{socket.gethostname()}:{pid}" for pid in pids}
    assert not [c for c in sandbox_containers() if c["Labels"].get("graderq.owner") in owners]


def _group(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rpartition(")")[2].split()[2])
    except (OSError, ValueError, IndexError):
        return None
