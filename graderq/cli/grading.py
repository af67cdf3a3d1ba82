"""`graderq grade`: compile once, run a folder of tests through the queue, show verdicts."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from graderq.cli.exits import EPILOG, ExitCode
from graderq.cli.output import print_json, report_view, stderr_console, stdout_console
from graderq.cli.params import TestCase, files_option, limits_option, load_tests

if TYPE_CHECKING:
    from celery.result import AsyncResult

    from graderq.engine import WorkingDirectory

WAIT_SLICE = 1.0
"""Seconds one wait for the oldest pending test may block before the others are polled."""


def gather(
    pending: Sequence[AsyncResult],
    workdir: WorkingDirectory,
    deadline: float | None = None,
    finished: Callable[[int], None] = lambda index: None,
) -> list[dict[str, Any]]:
    """The results of `pending`, in order; `finished(index)` is called as each arrives.

    Waits on the oldest pending result a slice at a time (client.wait: a lost workdir
    host raises WorkdirLost) and collects every other one that is ready meanwhile.
    """
    from celery.exceptions import TimeoutError as CeleryTimeout

    from graderq import client

    results: list[Any] = [None] * len(pending)
    waiting = list(range(len(pending)))

    def collect(index: int, result: Any) -> None:
        results[index] = result
        waiting.remove(index)
        finished(index)

    while waiting:
        for index in [i for i in waiting if pending[i].ready()]:
            collect(index, client.wait(pending[index], workdir))
        if not waiting:
            break
        if deadline is not None and time.monotonic() >= deadline:
            raise CeleryTimeout(f"{len(waiting)} tests had no result in time")
        head = waiting[0]
        try:
            result = client.wait(pending[head], workdir, timeout=WAIT_SLICE)
        except CeleryTimeout:
            continue
        collect(head, result)
    return results


def remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(deadline - time.monotonic(), 0.001)


def grade_cases(
    cases: Sequence[TestCase],
    run_step: dict[str, Any],
    compile_step: dict[str, Any],
    files: list[dict[str, Any]] | None,
    progress: Progress,
    timeout: float | None = None,
) -> dict[str, Any]:
    """compile_and_run's outcome ({'compiled', 'compile', 'runs'}) for `cases`, built from
    client primitives: one workdir, one compile step, then one submitted run per case."""
    from graderq import client
    from graderq.tasks import compile_failed, summary

    deadline = None if timeout is None else time.monotonic() + timeout
    with client.working_directory() as workdir:
        preparing = compile_step["command"] == "true"
        step = progress.add_task("preparing" if preparing else "compiling", total=None)
        compiled = client.run(
            **compile_step,
            files=files,
            workdir=workdir,
            timeout=remaining(deadline),
        )
        progress.remove_task(step)
        if compile_failed(compiled):
            return summary(compiled, [], skipped=len(cases))
        bar = progress.add_task("testing", total=len(cases))
        pending = [client.submit(**run_step, stdin=case.stdin, workdir=workdir) for case in cases]
        runs = gather(pending, workdir, deadline, lambda index: progress.advance(bar))
        return summary(compiled, runs)


def tests_folder(ctx: click.Context, param: click.Parameter, value: Path) -> list[TestCase]:
    try:
        return load_tests(value)
    except (ValueError, OSError) as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


@click.command(epilog=EPILOG)
@click.argument("profile")
@click.option("--run", "run_command", required=True, metavar="CMD", help="Runs one test.")
@click.option("--compile", "compile_command", metavar="CMD", help="Runs once, before the tests.")
@click.option(
    "--tests",
    "cases",
    required=True,
    type=click.Path(path_type=Path),
    callback=tests_folder,
    metavar="DIR",
    help="A folder of NAME.in files, each with NAME.out (or NAME.ans) expected output.",
)
@click.option("--compile-profile", metavar="P", help="Profile of --compile [default: PROFILE].")
@click.option(
    "--file",
    "files",
    multiple=True,
    metavar="[NAME=]PATH",
    callback=files_option,
    help="A file of the submission, put into /sandbox. Repeatable.",
)
@click.option(
    "--limit",
    "limits",
    multiple=True,
    metavar="NAME=VALUE",
    callback=limits_option,
    help="A limit of each test run. Repeatable.",
)
@click.option(
    "--compile-limit",
    "compile_limits",
    multiple=True,
    metavar="NAME=VALUE",
    callback=limits_option,
    help="A limit of the compile step. Repeatable.",
)
@click.option("--exact", is_flag=True, help="Compare outputs byte for byte.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Seconds the whole grading may take [default: no limit].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def grade(
    profile: str,
    run_command: str,
    compile_command: str | None,
    cases: list[TestCase],
    compile_profile: str | None,
    files: list[dict[str, Any]] | None,
    limits: dict[str, Any] | None,
    compile_limits: dict[str, Any] | None,
    exact: bool,
    timeout: float | None,
    as_json: bool,
) -> None:
    """Grade a submission against the tests in DIR, through the queue.

    Compiles once with --compile (else only puts the files in place), runs --run on
    every test's input in parallel on the worker host that holds the compiled files,
    and compares each output with the expected one (trailing whitespace ignored unless
    --exact). PROFILE runs the tests.
    """
    from graderq.grading import report

    compile_step = {
        "profile_name": compile_profile or profile,
        "command": compile_command or "true",
        "limits": compile_limits,
    }
    run_step = {"profile_name": profile, "command": run_command, "limits": limits}
    console = stderr_console()
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=as_json or not console.is_terminal,
    )
    with progress:
        outcome = grade_cases(cases, run_step, compile_step, files, progress, timeout)
    tests = [{"name": case.name, "expected": case.expected} for case in cases]
    summary = report(outcome, tests, exact)
    if as_json:
        print_json(summary)
    else:
        stdout_console().print(report_view(summary))
    accepted = summary["verdict"] == "accepted"
    raise click.exceptions.Exit(ExitCode.OK if accepted else ExitCode.FAILED)
