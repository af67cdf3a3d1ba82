"""What a producer (an LMS) imports: submit work, get results three ways, hold workdirs.

A result reaches the LMS by waiting (`run`, `wait`), by id (`result(task_id)`, for an
id stored earlier), or by callback (`callback=` a Celery signature of the LMS's app or
an http(s) URL; see graderq.callbacks). Needs a broker and a result backend, never a
Docker engine, nor the `docker` package, on the producer's machine.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from celery import chain, states
from celery.exceptions import TimeoutError as CeleryTimeout
from celery.result import AsyncResult, task_join_will_block
from celery.utils import uuid

from graderq import records
from graderq.app import app
from graderq.callbacks import callback_spec
from graderq.errors import (
    LanguageError,
    NoWorker,
    RequestError,
    RequestTypeError,
    UnknownTask,
    WaitInsideTask,
    WorkdirLost,
)
from graderq.languages import get_language, load_languages
from graderq.settings import get_settings
from graderq.tasks import PROGRESS, STEP_KEYS, create_workdir, judge, remove_workdir, run_sandbox
from graderq.tasks import compile_and_run as compile_and_run_task
from graderq.workdir import WorkingDirectory, as_workdir

__all__ = [
    "compile_and_run",
    "grade",
    "progress",
    "result",
    "run",
    "submit",
    "wait",
    "working_directory",
]

log = logging.getLogger("graderq.client")
POLL = 0.05
TASK_ID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
INSIDE_TASK = (
    "graderq results must not be waited for inside a Celery task (it would block a worker "
    "slot until the grading ends); pass callback= (your app's signature or a URL) to "
    "submit, compile_and_run or grade, or store result.id and call graderq.client.result(id) "
    "later"
)
Progress = Callable[[int, int], None]
"""Told (tests done, tests in all) as a grading's runs finish."""


def _not_inside_a_task() -> None:
    if task_join_will_block():
        raise WaitInsideTask(INSIDE_TASK)


@contextmanager
def working_directory(
    timeout: float | None = None, disk: int | None = None
) -> Iterator[WorkingDirectory]:
    """A working directory on some worker host; runs given it are pinned to that host.

    It is a disk of `disk` megabytes (None: the workers' default `disk` limit).

    Removed on exit (even when the block raises, whose error is never hidden); if the
    producer dies inside the block the workers' janitor removes it once
    settings.workdir_ttl has passed.
    """
    _not_inside_a_task()
    timeout = get_settings().workdir_timeout if timeout is None else timeout
    try:
        workdir = as_workdir(create_workdir.delay(disk).get(timeout=timeout))
    except CeleryTimeout:
        raise NoWorker(f"no worker created a working directory within {timeout} s") from None
    try:
        yield workdir
    except BaseException:
        try:
            remove_workdir.delay(workdir)
        except Exception:
            log.warning("%r not removed; the janitor will", workdir, exc_info=True)
        raise
    remove_workdir.delay(workdir)


def _issue(callback: Any) -> str:
    """A new task id, recorded as issued (with its checked callback) before it is sent."""
    spec = callback_spec(callback)
    task_id = uuid()
    records.issue(task_id, spec)
    return task_id


def submit(
    profile_name: str,
    command: str | None = None,
    files: Sequence[Mapping[str, Any]] | None = None,
    stdin: bytes | str | None = None,
    limits: Mapping[str, Any] | None = None,
    workdir: WorkingDirectory | None = None,
    *,
    callback: Any = None,
) -> AsyncResult:
    """Queue one run (pinned to the workdir's host if given); returns its AsyncResult.

    `callback`: a Celery signature of your app, or an http(s) URL, that gets the result.
    """
    arguments = (
        profile_name,
        command,
        list(files) if files is not None else None,
        stdin,
        dict(limits) if limits is not None else None,
        as_workdir(workdir),
    )
    return run_sandbox.apply_async(arguments, task_id=_issue(callback))


def wait(
    result: AsyncResult,
    workdir: WorkingDirectory | None = None,
    timeout: float | None = None,
    progress: Progress | None = None,
) -> Any:
    """The task's return value; WorkdirLost if the workdir's host stops beating meanwhile.

    `progress(done, total)` is called as the runs of a grading or compile_and_run end.
    """
    _not_inside_a_task()
    deadline = None if timeout is None else time.monotonic() + timeout
    node = workdir.node if workdir is not None else None
    told = None
    while True:
        if progress is not None and (counts := _progress(result)) not in (None, told):
            told = counts
            progress(*counts)
        try:
            value = result.get(timeout=POLL * (4 if progress else 20), interval=POLL)
        except CeleryTimeout:
            pass
        else:
            if progress is not None and (counts := _progress(result)) not in (None, told):
                progress(*counts)
            return value
        if node is not None and not records.node_alive(node):
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
    _not_inside_a_task()
    handle = submit(profile_name, command, files, stdin, limits, workdir)
    return wait(handle, workdir, timeout)


def result(task_id: str) -> Any:
    """The result of a task graderq issued: its value when ready, None while pending;
    the task's own error if it failed, UnknownTask for an id never issued or expired."""
    if not isinstance(task_id, str) or not TASK_ID.match(task_id):
        raise RequestError(f"{task_id!r} is not a task id (a UUID as str)")
    handle = AsyncResult(task_id, app=app)
    state = handle.state
    if state == states.SUCCESS:
        return handle.result
    if state in states.PROPAGATE_STATES:
        handle.maybe_throw()
        raise UnknownTask(f"task {task_id} ended in state {state}")  # maybe_throw raised
    if state == states.PENDING and not records.was_issued(task_id):
        raise UnknownTask(
            f"graderq never issued task {task_id}, or its result has expired "
            f"(results are kept {get_settings().result_expires:.0f} s)"
        )
    return None


def progress(handle: AsyncResult) -> tuple[int, int] | None:
    """(runs done, runs in all) of a grading or compile_and_run, once its runs have
    started (None before: it is compiling)."""
    return _progress(handle)


def _progress(handle: AsyncResult) -> tuple[int, int] | None:
    root = handle.parent if handle.parent is not None else handle
    state, info = root.state, root.info
    if state == states.SUCCESS and isinstance(info, Mapping) and "runs" in info:
        total = len(info["runs"]) + info.get("skipped", 0)
        return total, total
    if state != PROGRESS or not isinstance(info, Mapping):
        return None
    ids = info.get("runs") or []
    backend = app.backend
    stored = backend.mget([backend.get_key_for_task(task_id) for task_id in ids])
    done = sum(
        1
        for value in stored
        if value is not None and backend.decode_result(value)["status"] in states.READY_STATES
    )
    return done, len(ids)


def _step(step: Mapping[str, Any], what: str) -> dict[str, Any]:
    if not isinstance(step, Mapping):
        raise RequestTypeError(f"{what} must be a dict of run_sandbox arguments")
    unknown = set(step) - STEP_KEYS
    if unknown:
        raise RequestError(
            f"{what} has unknown keys {sorted(unknown)}; allowed: {sorted(STEP_KEYS)}"
        )
    if "profile_name" not in step:
        raise RequestError(f"{what} needs a 'profile_name'")
    return dict(step)


def compile_and_run(
    compile: Mapping[str, Any],
    runs: Sequence[Mapping[str, Any]],
    files: Sequence[Mapping[str, Any]] | None = None,
    *,
    callback: Any = None,
) -> AsyncResult:
    """Compile once, then run every step in `runs` on the same host, in parallel.

    Steps are dicts of run_sandbox's arguments (profile_name, command, stdin, limits,
    files). Returns at once; `.get()` gives {'compiled': bool, 'compile': result,
    'runs': [result, ...]}; a failed compile gives no runs, `skipped` and `error`.
    """
    steps = [_step(step, f"runs[{i}]") for i, step in enumerate(runs)]
    arguments = (_step(compile, "compile"), steps, list(files) if files is not None else None)
    return compile_and_run_task.apply_async(arguments, task_id=_issue(callback))


def _test_case(test: Mapping[str, Any], index: int) -> tuple[Any, dict[str, Any]]:
    if not isinstance(test, Mapping) or "expected" not in test:
        raise RequestError(f"tests[{index}] must be a dict with 'expected' (and 'stdin', 'name')")
    unknown = set(test) - {"stdin", "expected", "name"}
    if unknown:
        raise RequestError(f"tests[{index}] has unknown keys {sorted(unknown)}")
    if not isinstance(test["expected"], str | bytes):
        raise RequestTypeError(f"tests[{index}]['expected'] must be bytes or str")
    return test.get("stdin"), {"name": test.get("name"), "expected": test["expected"]}


def grade(
    run: Mapping[str, Any] | None = None,
    tests: Sequence[Mapping[str, Any]] | None = None,
    compile: Mapping[str, Any] | None = None,
    files: Sequence[Mapping[str, Any]] | None = None,
    exact: bool = False,
    *,
    callback: Any = None,
    language: str | None = None,
    source: str | bytes | None = None,
) -> AsyncResult:
    """Grade a submission through the queue: compile once, run every test in parallel.

    `run` and `compile` are steps (profile_name, command, limits); each test is
    {'stdin', 'expected', 'name'}. Without `compile` the files are only put in place.
    Or name a `language` of the catalogue (configs/languages.toml) and give its
    `source`: the catalogue's profiles and commands compile and run it, and `files`
    are put beside it. Returns at once; `.get()` (or `wait(handle, progress=...)`)
    gives graderq.grading.report's dict: an overall 'verdict', 'passed'/'total', and
    per test its verdict and figures. Outputs match when equal but for trailing
    whitespace, or byte for byte with `exact=True`.
    """
    if language is not None:
        run, compile, files = _language_steps(language, source, run, compile, files)
    elif source is not None:
        raise LanguageError("source= needs language=; without one, pass the source in files")
    if run is None:
        raise RequestError("grade needs a run step, or language= and source=")
    if tests is None:
        raise RequestError("grade needs tests: a list of {'stdin', 'expected', 'name'}")
    run_step = _step(run, "run")
    if "stdin" in run_step:
        raise RequestError("run must not have 'stdin': each test gives its own")
    cases = [_test_case(test, i) for i, test in enumerate(tests)]
    compile_step = _step(
        compile if compile is not None else {"profile_name": run_step["profile_name"]},
        "compile",
    )
    compile_step.setdefault("command", "true")
    steps = [run_step | {"stdin": stdin} for stdin, _ in cases]
    final = judge.s([expected for _, expected in cases], exact).set(task_id=_issue(callback))
    return chain(
        compile_and_run_task.s(compile_step, steps, list(files) if files is not None else None),
        final,
    ).apply_async()


def _language_steps(
    language: Any,
    source: Any,
    run: Any,
    compile: Any,
    files: Sequence[Mapping[str, Any]] | None,
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """The run step, compile step and files of a submission in a catalogue language."""
    if run is not None or compile is not None:
        raise LanguageError(
            "give language= or run/compile steps, not both: the language's catalogue "
            "entry says how to compile and run"
        )
    if source is None:
        raise LanguageError(f"language={language!r} needs source=, the program's text")
    entry = get_language(language, load_languages(get_settings().languages_file))
    return entry.run_step(), entry.compile_step(), entry.files(source, files)
