"""What a producer (an LMS) imports: submit runs, hold remote working directories.

Needs a broker and a result backend, never a Docker engine on the producer's machine.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from celery import chain
from celery.exceptions import TimeoutError as CeleryTimeout
from celery.result import AsyncResult

from graderq.engine import WorkingDirectory
from graderq.errors import WorkdirLost
from graderq.routing import as_workdir
from graderq.settings import get_settings
from graderq.tasks import STEP_KEYS, create_workdir, judge, remove_workdir, run_sandbox
from graderq.tasks import compile_and_run as compile_and_run_task
from graderq.worker import node_alive

__all__ = ["compile_and_run", "grade", "run", "submit", "wait", "working_directory"]

POLL = 0.05


@contextmanager
def working_directory(
    timeout: float | None = None, disk: int | None = None
) -> Iterator[WorkingDirectory]:
    """A working directory on some worker host; runs given it are pinned to that host.

    It is a disk of `disk` megabytes (None: the workers' default `disk` limit).

    Removed on exit (even when the block raises); if the producer dies inside the block
    the workers' janitor removes it once settings.workdir_ttl has passed.
    """
    timeout = get_settings().workdir_timeout if timeout is None else timeout
    try:
        workdir = as_workdir(create_workdir.delay(disk).get(timeout=timeout))
    except CeleryTimeout:
        raise WorkdirLost(f"no worker created a working directory within {timeout} s") from None
    try:
        yield workdir
    finally:
        remove_workdir.delay(workdir)


def submit(
    profile_name: str,
    command: str | None = None,
    files: Sequence[Mapping[str, Any]] | None = None,
    stdin: bytes | str | None = None,
    limits: Mapping[str, Any] | None = None,
    workdir: WorkingDirectory | None = None,
) -> AsyncResult:
    """Queue one run (pinned to the workdir's host if given); returns its AsyncResult."""
    return run_sandbox.delay(
        profile_name,
        command,
        list(files) if files is not None else None,
        stdin,
        dict(limits) if limits is not None else None,
        workdir,
    )


def wait(
    result: AsyncResult, workdir: WorkingDirectory | None = None, timeout: float | None = None
) -> Any:
    """The task's return value; WorkdirLost if the workdir's host stops beating meanwhile."""
    deadline = None if timeout is None else time.monotonic() + timeout
    node = workdir.node if workdir is not None else None
    while True:
        try:
            return result.get(timeout=POLL * 20, interval=POLL)
        except CeleryTimeout:
            pass
        if node is not None and not node_alive(node):
            raise WorkdirLost(f"the Docker host {node!r} that holds {workdir!r} has no live worker")
        if deadline is not None and time.monotonic() >= deadline:
            raise CeleryTimeout(f"no result within {timeout} s")


def run(
    profile_name: str,
    command: str | None = None,
    files: Sequence[Mapping[str, Any]] | None = None,
    stdin: bytes | str | None = None,
    limits: Mapping[str, Any] | None = None,
    workdir: WorkingDirectory | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """graderq.run through the queue: submit and wait for the result dict."""
    result = submit(profile_name, command, files, stdin, limits, workdir)
    return wait(result, workdir, timeout)


def _step(step: Mapping[str, Any], what: str) -> dict[str, Any]:
    if not isinstance(step, Mapping):
        raise TypeError(f"{what} must be a dict of run_sandbox arguments")
    unknown = set(step) - STEP_KEYS
    if unknown:
        raise ValueError(f"{what} has unknown keys {sorted(unknown)}; allowed: {sorted(STEP_KEYS)}")
    if "profile_name" not in step:
        raise ValueError(f"{what} needs a 'profile_name'")
    return dict(step)


def compile_and_run(
    compile: Mapping[str, Any],
    runs: Sequence[Mapping[str, Any]],
    files: Sequence[Mapping[str, Any]] | None = None,
) -> AsyncResult:
    """Compile once, then run every step in `runs` on the same host, in parallel.

    Steps are dicts of run_sandbox's arguments (profile_name, command, stdin, limits,
    files). Returns at once; `.get()` gives {'compiled': bool, 'compile': result,
    'runs': [result, ...]}; a failed compile gives no runs, `skipped` and `error`.
    """
    steps = [_step(step, f"runs[{i}]") for i, step in enumerate(runs)]
    return compile_and_run_task.delay(
        _step(compile, "compile"), steps, list(files) if files is not None else None
    )


def _test_case(test: Mapping[str, Any], index: int) -> tuple[Any, dict[str, Any]]:
    if not isinstance(test, Mapping) or "expected" not in test:
        raise ValueError(f"tests[{index}] must be a dict with 'expected' (and 'stdin', 'name')")
    unknown = set(test) - {"stdin", "expected", "name"}
    if unknown:
        raise ValueError(f"tests[{index}] has unknown keys {sorted(unknown)}")
    if not isinstance(test["expected"], str | bytes):
        raise TypeError(f"tests[{index}]['expected'] must be bytes or str")
    return test.get("stdin"), {"name": test.get("name"), "expected": test["expected"]}


def grade(
    run: Mapping[str, Any],
    tests: Sequence[Mapping[str, Any]],
    compile: Mapping[str, Any] | None = None,
    files: Sequence[Mapping[str, Any]] | None = None,
    exact: bool = False,
) -> AsyncResult:
    """Grade a submission through the queue: compile once, run every test in parallel.

    `run` and `compile` are steps (profile_name, command, limits); each test is
    {'stdin', 'expected', 'name'}. Without `compile` the files are only put in place.
    Returns at once; `.get()` gives graderq.grading.report's dict: an overall
    'verdict', 'passed'/'total', and per test its verdict and figures. Outputs match
    when equal but for trailing whitespace, or byte for byte with `exact=True`.
    """
    run_step = _step(run, "run")
    if "stdin" in run_step:
        raise ValueError("run must not have 'stdin': each test gives its own")
    cases = [_test_case(test, i) for i, test in enumerate(tests)]
    compile_step = _step(
        compile if compile is not None else {"profile_name": run_step["profile_name"]},
        "compile",
    )
    compile_step.setdefault("command", "true")
    steps = [run_step | {"stdin": stdin} for stdin, _ in cases]
    return chain(
        compile_and_run_task.s(compile_step, steps, list(files) if files is not None else None),
        judge.s([expected for _, expected in cases], exact),
    ).apply_async()
