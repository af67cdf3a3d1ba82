"""The Celery tasks: thin wrappers that validate, call the engine, return JSON-able dicts.

Producers: `from graderq.tasks import run_sandbox; run_sandbox.delay(...)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from celery import Task, chord

from graderq.app import GraderqTask, app
from graderq.engine import WorkingDirectory
from graderq.errors import DockerUnavailable, VolumeInUse
from graderq.grading import report
from graderq.routing import WorkdirError, as_workdir, workdir_route
from graderq.worker import count_delivery, current_node, worker_engine

STEP_KEYS = frozenset({"profile_name", "command", "files", "stdin", "limits"})


class WorkerTask(GraderqTask):
    """A graderq task as a worker runs it: each start is counted against redeliveries."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.request.id and not self.request.is_eager:
            count_delivery(self.request.id, self.request.retries or 0)
        return super().__call__(*args, **kwargs)


def _local_workdir(workdir: Any) -> WorkingDirectory | None:
    """The workdir handle, checked to live on this worker's Docker host."""
    handle = as_workdir(workdir)
    if handle is not None and handle.node not in (None, current_node()):
        raise WorkdirError(
            f"{handle!r} lives on node {handle.node!r} but this worker runs on "
            f"{current_node()!r}; send the task with its routing (graderq.routing)"
        )
    return handle


@app.task(
    name="graderq.run_sandbox",
    base=WorkerTask,
    bind=True,
    autoretry_for=(DockerUnavailable,),
    max_retries=5,
    retry_backoff=2,
    retry_backoff_max=30,
    retry_jitter=False,
)
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
    return worker_engine().run(profile_name, command, files, stdin, limits, _local_workdir(workdir))


@app.task(name="graderq.create_workdir", base=WorkerTask, bind=True)
def create_workdir(self: Task, disk: int | None = None) -> WorkingDirectory:
    """Create a working directory (a disk of `disk` MB) on this worker's host; tasks
    given it are pinned here."""
    return worker_engine().open_workdir(node=current_node(), disk=disk)


@app.task(name="graderq.remove_workdir", base=WorkerTask, bind=True, max_retries=60)
def remove_workdir(self: Task, workdir: WorkingDirectory | dict[str, str]) -> None:
    """Remove a working directory; retried while a run still uses it."""
    handle = _local_workdir(workdir)
    if handle is None:
        raise WorkdirError("remove_workdir needs a workdir")
    try:
        worker_engine().close_workdir(handle)
    except VolumeInUse as exc:
        raise self.retry(exc=exc, countdown=1) from exc


def compile_failed(result: Mapping[str, Any]) -> bool:
    return bool(result["exit_code"] != 0 or result["timeout"] or result["oom_killed"])


@app.task(name="graderq.compile_and_run", base=WorkerTask, bind=True)
def compile_and_run(
    self: Task,
    compile: dict[str, Any],
    runs: list[dict[str, Any]],
    files: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Compile once in a fresh workdir here, then fan the runs out over this host's workers.

    Returns {'compiled', 'compile', 'runs'}: a failed compile skips every run (`runs`
    is empty and `skipped` counts them); otherwise `runs` holds one result per step,
    in order. The workdir, a disk sized by the compile step's `disk` limit if it names
    one, is removed when the runs are done.
    """
    engine = worker_engine()
    limits = compile.get("limits")
    disk = limits.get("disk") if isinstance(limits, dict) else None
    workdir = engine.open_workdir(node=current_node(), disk=disk)
    try:
        compiled = engine.run(workdir=workdir, files=files, **compile)
    except BaseException:
        engine.close_workdir(workdir)
        raise
    if compile_failed(compiled) or not runs:
        engine.close_workdir(workdir)
        return summary(compiled, [], skipped=len(runs) if compile_failed(compiled) else 0)
    route = workdir_route(workdir)
    steps = [run_sandbox.si(workdir=workdir, **step).set(**route) for step in runs]
    callback = collect_runs.s(compiled, workdir).set(**route)
    raise self.replace(chord(steps, callback))


@app.task(name="graderq.collect_runs", base=WorkerTask, bind=True)
def collect_runs(
    self: Task,
    results: list[dict[str, Any]],
    compiled: dict[str, Any],
    workdir: WorkingDirectory | dict[str, str],
) -> dict[str, Any]:
    """The chord's end: remove the workdir and gather the runs' results."""
    handle = _local_workdir(workdir)
    if handle is not None:
        worker_engine().close_workdir(handle)
    return summary(compiled, results)


def summary(
    compiled: dict[str, Any], runs: list[dict[str, Any]], skipped: int = 0
) -> dict[str, Any]:
    result = {"compiled": not compile_failed(compiled), "compile": compiled, "runs": runs}
    if skipped:
        result["skipped"] = skipped
        result["error"] = f"compile step failed; {skipped} run steps skipped"
    return result


@app.task(name="graderq.judge", base=WorkerTask, bind=True)
def judge(
    self: Task, outcome: dict[str, Any], tests: list[dict[str, Any]], exact: bool = False
) -> dict[str, Any]:
    """The end of a grading chain: verdicts for compile_and_run's outcome."""
    return report(outcome, tests, exact)
