"""What a producer (an LMS) imports: submit work, get results three ways, hold workdirs.

A result reaches the LMS by waiting (`run`, `wait`), by id (`result(task_id)`, for an
id stored earlier; lookup.py), or by callback (`callback=` a Celery signature of the
LMS's app or an http(s) URL; see graderq.queue.callbacks). A grading's request is
checked here before anything is queued (plan.py). Needs a broker and a result backend,
never a Docker engine, nor the `docker` package, on the producer's machine.

Layer rules (checked by tests/test_layers.py; its imports, run or not, reach neither
the engine nor the sandbox):
- may import: ground, judging, queue
- never imported by: ground, sandbox, engine, judging, queue, re-exports
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from celery.canvas import Signature, _chain
from celery.exceptions import ChordError
from celery.exceptions import TimeoutError as CeleryTimeout
from celery.result import AsyncResult
from celery.utils import uuid

from graderq.client import lookup, plan
from graderq.client.lookup import progress, result
from graderq.errors import (
    BackendUnavailable,
    LanguageError,
    NoWorker,
    ResultTimeout,
    WorkdirLost,
)
from graderq.queue import records
from graderq.queue.app import app
from graderq.queue.callbacks import callback_spec
from graderq.queue.routing import DEFAULT_QUEUE
from graderq.queue.tasks import compile_and_run as compile_and_run_task
from graderq.queue.tasks import create_workdir, remove_workdir, run_sandbox
from graderq.queue.tenants import DEFAULT_TENANT, admit, broker_priority, consume, tenant_queue
from graderq.queue.unavailable import reachable
from graderq.queue.waiting import not_inside_a_task
from graderq.settings import get_settings
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
Progress = Callable[[int, int], None]
"""Told (tests done, tests in all) as a grading's runs finish."""


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
    not_inside_a_task()
    timeout = get_settings().workdir_timeout if timeout is None else timeout
    try:
        with reachable():
            workdir = as_workdir(create_workdir.delay(disk).get(timeout=timeout))
    except CeleryTimeout:
        raise NoWorker(f"no worker created a working directory within {timeout} s") from None
    try:
        yield workdir
    finally:
        _remove(workdir)


def _remove(workdir: WorkingDirectory) -> None:
    """Ask for `workdir`'s removal; while the broker is away, keep asking in the
    background (until the workdir's TTL, when the janitor removes it anyway)."""
    try:
        with reachable():
            remove_workdir.delay(workdir)
    except BackendUnavailable:
        log.warning("%r not removed yet: the broker is away; retrying", workdir)
        threading.Thread(target=_remove_later, args=(workdir,), daemon=True).start()


def _remove_later(workdir: WorkingDirectory) -> None:
    deadline = time.monotonic() + get_settings().workdir_ttl
    pause = 1.0
    while time.monotonic() < deadline:
        time.sleep(pause)
        try:
            with reachable():
                remove_workdir.delay(workdir)
        except BackendUnavailable:
            pause = min(pause * 2, 60.0)
        else:
            log.info("%r removal sent, the broker being back", workdir)
            return


def _send(
    signature: Signature,
    callback: Any,
    tenant: str,
    priority: int | None,
    pinned: bool = False,
    task_id: str | None = None,
) -> AsyncResult:
    """Send `signature` (a task or a chain) for `tenant`: checked, admitted, recorded;
    `task_id` names its last task (default: a new id)."""
    spec = callback_spec(callback)
    queue = tenant_queue(tenant)
    options: dict[str, Any] = {"priority": broker_priority(priority, app.conf.broker_url)}
    with reachable():
        if not pinned:  # pinned work goes to its node's queue, whoever's it is
            options["queue"] = admit(app, tenant, get_settings().max_queued)
        final = signature.tasks[-1] if isinstance(signature, _chain) else signature
        task_id = task_id or uuid()
        final.set(task_id=task_id)
        if records.issue(task_id, spec, tenant if queue != DEFAULT_QUEUE else None):
            # A new tenant: every worker consumes its queue from now on (and workers
            # started later read the tenants from Redis).
            consume(app, queue)
        if isinstance(signature, _chain):  # its later tasks (a grading's judge) too
            for later in signature.tasks[1:]:
                later.set(**options)
        return signature.apply_async(**options)


def submit(
    profile_name: str,
    command: str | None = None,
    files: Sequence[Mapping[str, Any]] | None = None,
    stdin: bytes | str | None = None,
    limits: Mapping[str, Any] | None = None,
    workdir: WorkingDirectory | None = None,
    *,
    callback: Any = None,
    tenant: str = DEFAULT_TENANT,
    priority: int | None = None,
) -> AsyncResult:
    """Queue one run (pinned to the workdir's host if given); returns its AsyncResult.

    `callback`: a Celery signature of your app, or an http(s) URL, that gets the result.
    `tenant` (a course) and `priority` (0-9, higher first) decide when it runs;
    Busy if the tenant already has GRADERQ_MAX_QUEUED tasks waiting.
    """
    handle = as_workdir(workdir)
    arguments = (
        profile_name,
        command,
        list(files) if files is not None else None,
        stdin,
        dict(limits) if limits is not None else None,
        handle,
    )
    signature = run_sandbox.signature(arguments)
    return _send(signature, callback, tenant, priority, pinned=handle is not None)


def wait(
    result: AsyncResult,
    workdir: WorkingDirectory | None = None,
    timeout: float | None = None,
    progress: Progress | None = None,
) -> Any:
    """The task's return value; WorkdirLost if the workdir's host stops beating meanwhile.

    `progress(done, total)` is called as the runs of a grading or compile_and_run end.
    """
    not_inside_a_task()
    deadline = None if timeout is None else time.monotonic() + timeout
    node = workdir.node if workdir is not None else None
    told = None
    while True:
        with reachable():
            if progress is not None and (counts := lookup.progress(result)) not in (None, told):
                told = counts
                progress(*counts)
            try:
                value = result.get(timeout=POLL * (4 if progress else 20), interval=POLL)
            except CeleryTimeout:
                pass
            except ChordError as exc:
                raise lookup.run_error(exc) from None
            else:
                if progress is not None and (counts := lookup.progress(result)) not in (None, told):
                    progress(*counts)
                return value
            if node is not None and not records.node_alive(node):
                raise WorkdirLost(
                    f"the Docker host {node!r} that holds {workdir!r} has no live worker"
                )
        if deadline is not None and time.monotonic() >= deadline:
            raise ResultTimeout(f"no result within {timeout} s")


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
    not_inside_a_task()
    handle = submit(profile_name, command, files, stdin, limits, workdir)
    return wait(handle, workdir, timeout)


def compile_and_run(
    compile: Mapping[str, Any],
    runs: Sequence[Mapping[str, Any]],
    files: Sequence[Mapping[str, Any]] | None = None,
    *,
    callback: Any = None,
    tenant: str = DEFAULT_TENANT,
    priority: int | None = None,
) -> AsyncResult:
    """Compile once, then run every step in `runs` on the same host, in parallel.

    Steps are dicts of run_sandbox's arguments (profile_name, command, stdin, limits,
    files). Returns at once; `.get()` gives {'compiled': bool, 'compile': result,
    'runs': [result, ...]}; a failed compile gives no runs, `skipped` and `error`.
    """
    steps = [plan.step(step, f"runs[{i}]") for i, step in enumerate(runs)]
    arguments = (plan.step(compile, "compile"), steps, list(files) if files is not None else None)
    return _send(compile_and_run_task.signature(arguments), callback, tenant, priority)


def grade(
    run: Mapping[str, Any] | None = None,
    tests: Sequence[Mapping[str, Any]] | None = None,
    compile: Mapping[str, Any] | None = None,
    files: Sequence[Mapping[str, Any]] | None = None,
    exact: bool = False,
    *,
    callback: Any = None,
    checker: Any = None,
    interactor: Mapping[str, Any] | None = None,
    groups: Mapping[str, Mapping[str, Any]] | None = None,
    stop_on_failure: bool = False,
    tenant: str = DEFAULT_TENANT,
    priority: int | None = None,
    language: str | None = None,
    source: str | bytes | None = None,
    limits: Mapping[str, Any] | None = None,
    compile_limits: Mapping[str, Any] | None = None,
) -> AsyncResult:
    """Grade a submission through the queue: compile once, run every test in parallel.

    `run` and `compile` are steps (profile_name, command, limits); each test is
    {'stdin', 'expected', 'name'}, and may carry 'points', a 'group' and its own
    'limits' (over the run's, name by name). Without `compile` the files are only put
    in place. Or name a `language` of the catalogue (configs/languages.toml) and give
    its `source`: the catalogue's profiles and commands compile and run it, `files`
    are put beside it, and `limits`/`compile_limits` go over its profiles'. Returns at
    once; `.get()` (or `wait(handle, progress=...)`) gives the report's dict
    (graderq.judging.report): an overall 'verdict', 'passed'/'total',
    'score'/'max_score', 'groups', and per test its verdict, points and figures.

    `checker`: "lines" (the default: equal but for trailing whitespace), "exact" (also
    `exact=True`), "tokens", "tokens-nocase", "float" or {"float": {"abs", "rel"}}, or a
    program {'profile_name', 'command', 'files', 'limits', 'compile'} run testlib-style.
    `interactor`: such a program, cross-wired with the submission on every test.
    `groups`: {NAME: {'points': P}} makes a group of tests all-or-nothing.
    `stop_on_failure`: once a test fails, the later ones are skipped.
    `tenant` and `priority`: as for `submit`.
    """
    if language is not None:
        run, compile, files = plan.language_steps(
            language, source, run, compile, files, limits, compile_limits
        )
    elif source is not None or limits is not None or compile_limits is not None:
        raise LanguageError(
            "source=, limits= and compile_limits= go with language=; without one, pass the "
            "source in files and the limits in the run and compile steps"
        )
    task_id = uuid()
    chained = plan.grading(
        task_id, run, tests, compile, files, exact, checker, interactor, groups, stop_on_failure
    )
    return _send(chained, callback, tenant, priority, task_id=task_id)
