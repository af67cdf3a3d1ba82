"""The Celery tasks: thin wrappers that validate, call the engine, return JSON-able dicts.

Producers: `from graderq.tasks import run_sandbox; run_sandbox.delay(...)` (graderq.tasks
re-exports them). The tasks are registered on graderq's own app only (never shared into
other apps), and importing this module needs neither Docker nor the `docker` package.
"""

from __future__ import annotations

import logging
import time
from contextlib import suppress
from typing import Any

import redis
from celery import Task, chain, chord, signature
from celery.utils import uuid

from graderq.errors import DockerUnavailable, TooManyDeliveries, VolumeInUse, WorkdirError
from graderq.judging.report import report, run_failed
from graderq.queue import callbacks, records
from graderq.queue.app import GraderqTask, app
from graderq.queue.routing import call_arguments, workdir_route
from graderq.settings import get_settings
from graderq.workdir import WorkingDirectory, as_workdir

log = logging.getLogger("graderq.tasks")

STEP_KEYS = frozenset({"profile_name", "command", "files", "stdin", "limits"})
PROGRESS = "PROGRESS"
"""The state of a compile_and_run whose runs are under way; its meta lists their ids."""


class WorkerTask(GraderqTask):
    """A graderq task as a worker runs it: each start is counted against redeliveries,
    and the end of a producer's task sends its callback."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.request.graderq_started = time.time()
        if self.request.id and not self.request.is_eager:
            self._count_delivery()
        return super().__call__(*args, **kwargs)

    def _count_delivery(self) -> None:
        """Count this start against redeliveries; refuse it past max_deliveries."""
        task_id = self.request.id
        try:
            count = records.count_delivery(task_id, self.request.retries or 0)
        except redis.RedisError as exc:
            log.warning("deliveries of %s not counted (Redis away: %s)", task_id, exc)
            return
        if count > 1:
            from graderq.queue.metrics import REDELIVERIES

            REDELIVERIES.inc()
        limit = get_settings().max_deliveries
        if count > limit:
            raise TooManyDeliveries(
                f"task {task_id} was delivered {count} times (the limit is {limit}); "
                "it is not run again"
            )

    def on_success(self, retval: Any, task_id: str, args: Any, kwargs: Any) -> None:
        self._observe(args, kwargs, retval)
        if not (self.request.chain or self.request.chord):  # else it is not the last task
            self._callback(task_id, "SUCCESS", retval)

    def _observe(self, args: Any, kwargs: Any, value: Any) -> None:
        """Record the task in the worker's metrics; never raises."""
        if self.request.is_eager:
            return
        try:
            from graderq.queue.metrics import observe

            arguments = call_arguments(self, args, kwargs) or {}
            started = getattr(self.request, "graderq_started", None) or time.time()
            sent = getattr(self.request, "graderq_sent", None)
            observe(self.name, arguments, value, started, time.time(), sent)
        except Exception:
            log.warning("metrics of %s not recorded", self.request.id, exc_info=True)

    def _count_run(self, profile: Any, result: dict[str, Any]) -> None:
        """Count a sandbox run of this task in the worker's metrics; never raises."""
        if self.request.is_eager:
            return
        try:
            from graderq.queue.metrics import count_run

            count_run(profile, result)
        except Exception:
            log.warning("metrics of %s not recorded", self.request.id, exc_info=True)

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        self._observe(args, kwargs, None)
        self._callback(final_task_id(self.request), "FAILURE", exc)

    def _callback(self, task_id: str, state: str, value: Any) -> None:
        """Send the callback of `task_id`, if it has one; never raises."""
        if self.request.is_eager or not task_id:
            return
        try:
            spec = records.take_callback(task_id)
            if spec is None:
                return
            message = callbacks.outcome(task_id, state, value)
            if "signature" in spec:
                callbacks.send_signature(self.app, spec["signature"], message)
            else:
                body = callbacks.webhook_body(task_id, state, message)
                deliver_webhook.delay(spec["url"], body.decode(), time.time())
        except Exception:
            log.exception("the callback of task %s was not sent", task_id)
            with suppress(redis.RedisError):
                records.count_callback_failure()


def final_task_id(request: Any) -> str:
    """The id the producer holds for the work `request` is part of: that of the last
    task of its chain, or of the chord it belongs to; its own id otherwise."""
    if request.chain:
        return _last_id(request.chain[0]) or request.id
    if isinstance(request.chord, dict):
        return _last_id(request.chord) or request.id
    return request.id


def _last_id(signature: dict[str, Any]) -> str | None:
    """The id of the task that ends `signature` (a signature dict), through chains."""
    tasks = (signature.get("kwargs") or {}).get("tasks")
    if signature.get("task") == "celery.chain" and tasks:
        return _last_id(tasks[-1])
    return (signature.get("options") or {}).get("task_id")


def _local_workdir(workdir: Any) -> WorkingDirectory | None:
    """The workdir handle, checked to live on this worker's Docker host."""
    from graderq.queue.worker import current_node

    handle = as_workdir(workdir)
    if handle is not None and handle.node not in (None, current_node()):
        raise WorkdirError(
            f"{handle!r} lives on node {handle.node!r} but this worker runs on "
            f"{current_node()!r}; send the task with its routing (graderq.queue.routing)"
        )
    return handle


def _engine() -> Any:
    from graderq.queue.worker import worker_engine

    return worker_engine()


SANDBOX_TASK: dict[str, Any] = {
    "base": WorkerTask,
    "bind": True,
    "shared": False,
    "autoretry_for": (DockerUnavailable,),
    "max_retries": 5,
    "retry_backoff": 2,
    "retry_backoff_max": 30,
    "retry_jitter": False,
}
"""A task that runs a sandbox: tried again, with backoff, while Docker is unreachable."""


@app.task(name="graderq.run_sandbox", **SANDBOX_TASK)
def run_sandbox(
    self: Task,
    profile_name: str,
    command: str | None = None,
    files: list[dict[str, Any]] | None = None,
    stdin: bytes | str | None = None,
    limits: dict[str, Any] | None = None,
    workdir: WorkingDirectory | dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run one command in a one-time sandbox on this worker's Docker host."""
    return _engine().run(profile_name, command, files, stdin, limits, _local_workdir(workdir))


@app.task(name="graderq.create_workdir", base=WorkerTask, bind=True, shared=False)
def create_workdir(self: Task, disk: int | None = None) -> WorkingDirectory:
    """Create a working directory (a disk of `disk` MB) on this worker's host; tasks
    given it are pinned here."""
    from graderq.queue.worker import current_node

    return _engine().open_workdir(node=current_node(), disk=disk)


@app.task(name="graderq.remove_workdir", base=WorkerTask, bind=True, shared=False, max_retries=60)
def remove_workdir(self: Task, workdir: WorkingDirectory | dict[str, str]) -> None:
    """Remove a working directory; retried while a run still uses it."""
    handle = _local_workdir(workdir)
    if handle is None:
        raise WorkdirError("remove_workdir needs a workdir")
    try:
        _engine().close_workdir(handle)
    except VolumeInUse as exc:
        raise self.retry(exc=exc, countdown=1) from exc


@app.task(name="graderq.run_test", **SANDBOX_TASK)
def run_test(
    self: Task,
    step: dict[str, Any],
    expected: bytes | str,
    index: int,
    grading: dict[str, Any],
    workdir: WorkingDirectory | dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run test `index` of a grading here, judge it, and return its bounded report row
    (graderq.queue.testrun)."""
    from graderq.queue.testrun import run_test as run_one

    return run_one(_engine(), step, expected, index, grading, _local_workdir(workdir))


@app.task(name="graderq.compile_and_run", base=WorkerTask, bind=True, shared=False)
def compile_and_run(
    self: Task,
    compile: dict[str, Any],
    runs: list[dict[str, Any]],
    files: list[dict[str, Any]] | None = None,
    grading: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Compile once in a fresh workdir here, then fan the runs out over this host's workers.

    Returns {'compiled', 'compile', 'runs'}: a failed compile skips every run (`runs`
    is empty and `skipped` counts them); otherwise `runs` holds one result per step,
    in order. The workdir, a disk sized by the compile step's `disk` limit if it names
    one, is removed when the runs are done, or when one of them fails. While the runs
    go on, this task's state is PROGRESS, with their ids as {'runs': [...]}
    (client.progress reads it).

    With `grading` (from client.grade) the runs are tests: its checker and interactor
    are made ready first (a failure gives `program_error` and no runs), and each run is
    a run_test task that returns its judged, bounded report row.
    """
    from graderq.queue.worker import current_node

    engine = _engine()
    if grading is not None:
        from graderq.queue.testrun import prepare

        problem = prepare(engine, grading, current_node())
        if problem is not None:
            return {"compiled": True, "compile": None, "runs": [], "program_error": problem}
    limits = compile.get("limits")
    disk = limits.get("disk") if isinstance(limits, dict) else None
    workdir = engine.open_workdir(node=current_node(), disk=disk)
    try:
        compiled = engine.run(workdir=workdir, files=files, **compile)
    except BaseException:
        engine.close_workdir(workdir)
        raise
    self._count_run(compile.get("profile_name"), compiled)
    if run_failed(compiled) or not runs:
        engine.close_workdir(workdir)
        return summary(compiled, [], skipped=len(runs) if run_failed(compiled) else 0)
    route = workdir_route(workdir)
    steps = [run.set(task_id=uuid(), **route) for run in _runs(workdir, runs, grading)]
    if not self.request.is_eager:
        self.update_state(state=PROGRESS, meta={"runs": [step.id for step in steps]})
    # The chord's body: collect_runs, then the rest of this task's chain (a grading's
    # judge), made here rather than by replace() so that the body's own options hold
    # the errback. A run that fails fails the chord and the body never runs; the
    # errback then removes the workdir, which would otherwise hold a disk until
    # GRADERQ_WORKDIR_TTL.
    rest = [signature(task, app=self.app) for task in reversed(self.request.chain or [])]
    self.request.chain = None
    collect = collect_runs.s(compiled, workdir).set(**route)
    body = chain(collect, *rest) if rest else collect
    body.options.setdefault("link_error", []).append(remove_workdir.si(workdir).set(**route))
    return self.replace(chord(steps, body))  # raises Ignore, unless run eagerly


def _runs(
    workdir: WorkingDirectory, runs: list[dict[str, Any]], grading: dict[str, Any] | None
) -> list[Any]:
    """The chord's tasks: a run_sandbox per step, or a run_test per test of a grading."""
    if grading is None:
        return [run_sandbox.si(workdir=workdir, **step) for step in runs]
    from graderq.queue.testrun import for_tests

    shared = for_tests(grading)
    answers = grading["answers"]
    return [
        run_test.si(step, answers[index], index, shared, workdir=workdir)
        for index, step in enumerate(runs)
    ]


@app.task(name="graderq.collect_runs", base=WorkerTask, bind=True, shared=False)
def collect_runs(
    self: Task,
    results: list[dict[str, Any]],
    compiled: dict[str, Any],
    workdir: WorkingDirectory | dict[str, str],
) -> dict[str, Any]:
    """The chord's end: remove the workdir and gather the runs' results."""
    handle = _local_workdir(workdir)
    if handle is not None:
        _engine().close_workdir(handle)
    return summary(compiled, results)


def summary(
    compiled: dict[str, Any], runs: list[dict[str, Any]], skipped: int = 0
) -> dict[str, Any]:
    result = {"compiled": not run_failed(compiled), "compile": compiled, "runs": runs}
    if skipped:
        result["skipped"] = skipped
        result["error"] = f"compile step failed; {skipped} run steps skipped"
    return result


@app.task(name="graderq.judge", base=WorkerTask, bind=True, shared=False)
def judge(
    self: Task,
    outcome: dict[str, Any],
    tests: list[dict[str, Any]],
    exact: bool = False,
    groups: dict[str, Any] | None = None,
    stop_on_failure: bool = False,
    profile: str | None = None,
) -> dict[str, Any]:
    """The end of a grading chain: the report of compile_and_run's outcome, with scores;
    `profile`, that of the runs, labels the grading in the metrics."""
    return report(outcome, tests, exact, groups, stop_on_failure)


@app.task(name="graderq.deliver_webhook", bind=True, shared=False, max_retries=None)
def deliver_webhook(self: Task, url: str, body: str, first_try: float) -> None:
    """POST a result to a webhook; retried with backoff for GRADERQ_WEBHOOK_RETRY_FOR s."""
    from graderq.queue.webhooks import WebhookRefused, post

    settings = get_settings()
    try:
        post(url, body.encode(), settings)
    except WebhookRefused as exc:
        elapsed = time.time() - first_try
        if exc.permanent or elapsed >= settings.webhook_retry_for:
            log.error("webhook %s not delivered after %.0f s: %s", url, elapsed, exc)
            records.count_callback_failure()
            return
        countdown = min(2.0**self.request.retries, 60.0, settings.webhook_retry_for - elapsed)
        raise self.retry(countdown=max(countdown, 0.1)) from exc
