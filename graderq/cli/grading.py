"""`graderq grade`: compile once, run a folder of tests through the queue, show verdicts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from graderq.cli.judges import checker_option, interactor_option
from graderq.cli.output import print_json, report_view, stderr_console, stdout_console
from graderq.cli.params import (
    LIMIT_HELP,
    TestCase,
    files_option,
    limits_option,
    load_groups,
    load_tests,
    require_expected,
)
from graderq.errors import LanguageError


def grade_with_progress(
    cases: Sequence[TestCase],
    run_step: dict[str, Any],
    compile_step: dict[str, Any],
    files: list[dict[str, Any]] | None,
    exact: bool,
    shown: bool,
    timeout: float | None = None,
    **judging: Any,
) -> dict[str, Any]:
    """client.grade's report for `cases`, drawing its progress on stderr (if `shown` and
    a terminal) as the tests finish; `judging`: client.grade's checker, interactor,
    groups and stop_on_failure."""
    from graderq import client

    console = stderr_console()
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not shown or not console.is_terminal,
    )
    tests = [case.as_test() for case in cases]
    with progress:
        preparing = compile_step["command"] == "true"
        step = progress.add_task("preparing" if preparing else "compiling", total=None)
        bar: list[Any] = []

        def advance(done: int, total: int) -> None:
            if not bar:
                progress.remove_task(step)
                bar.append(progress.add_task("testing", total=total))
            progress.update(bar[0], completed=done)

        handle = client.grade(run_step, tests, compile_step, files, exact, **judging)
        return client.wait(handle, timeout=timeout, progress=advance)


@dataclass(frozen=True)
class Suite:
    """A tests folder: its cases, and the all-or-nothing groups of its tests.toml."""

    cases: list[TestCase]
    groups: dict[str, Any] | None


def tests_folder(ctx: click.Context, param: click.Parameter, value: Path) -> Suite:
    try:
        # Expected outputs are checked in grade(): an --interactor needs none.
        return Suite(load_tests(value, need_expected=False), load_groups(value))
    except (ValueError, OSError) as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def grading_steps(
    language: str | None,
    profile: str | None,
    run_command: str | None,
    compile_command: str | None,
    compile_profile: str | None,
    files: list[dict[str, Any]] | None,
    limits: dict[str, Any] | None,
    compile_limits: dict[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]] | None]:
    """The run step, compile step and files of `graderq grade`: from --language and the
    catalogue, or from PROFILE, --run and --compile."""
    if language is not None:
        given = [
            name
            for name, value in (
                ("PROFILE", profile),
                ("--run", run_command),
                ("--compile", compile_command),
                ("--compile-profile", compile_profile),
            )
            if value is not None
        ]
        if given:
            raise click.UsageError(f"--language replaces {', '.join(given)}: give one or the other")
        return language_steps(language, files, limits, compile_limits)
    if profile is None or run_command is None:
        raise click.UsageError("give PROFILE and --run CMD, or --language ID")
    compile_step = {
        "profile_name": compile_profile or profile,
        "command": compile_command or "true",
        "limits": compile_limits,
    }
    run_step = {"profile_name": profile, "command": run_command, "limits": limits}
    return run_step, compile_step, files


def language_steps(
    language_id: str,
    files: list[dict[str, Any]] | None,
    limits: dict[str, Any] | None,
    compile_limits: dict[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """The run step, compile step and files of `graderq grade --language`: the first
    --file is the source, saved under the catalogue's name for it."""
    from graderq.client import plan

    if not files:
        raise LanguageError(f"--language {language_id} needs the source: --file PATH")
    source, *others = files
    return plan.language_steps(
        language_id, source["content"], None, None, others, limits, compile_limits
    )


@click.command(epilog=EPILOG)
@click.argument("profile", required=False)
@click.option("--run", "run_command", metavar="CMD", help="Runs one test.")
@click.option(
    "--language",
    metavar="ID",
    help="A language of the catalogue (graderq languages): it says how to compile and "
    "run; the first --file is the source. Instead of PROFILE, --run and --compile.",
)
@click.option("--compile", "compile_command", metavar="CMD", help="Runs once, before the tests.")
@click.option(
    "--tests",
    "suite",
    required=True,
    type=click.Path(path_type=Path),
    callback=tests_folder,
    metavar="DIR",
    help="A folder of NAME.in files, each with NAME.out (or NAME.ans) expected output "
    "(none with --interactor), and an optional tests.toml of points and groups.",
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
    help=f"A limit of each test run {LIMIT_HELP}",
)
@click.option(
    "--compile-limit",
    "compile_limits",
    multiple=True,
    metavar="NAME=VALUE",
    callback=limits_option,
    help=f"A limit of the compile step {LIMIT_HELP}",
)
@click.option("--exact", is_flag=True, help="Compare outputs byte for byte.")
@click.option(
    "--checker",
    callback=checker_option,
    metavar="exact|lines|tokens|tokens-nocase|float:TOL|FILE.cpp",
    help="How outputs are judged [default: lines]; a C++ checker is compiled in the gcc "
    "profile and called testlib-style.",
)
@click.option(
    "--interactor",
    type=click.Path(path_type=Path),
    callback=interactor_option,
    metavar="FILE.cpp",
    help="A testlib-style interactor, cross-wired with the submission on every test.",
)
@click.option("--stop-on-failure", is_flag=True, help="Skip the tests after one fails.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Seconds the whole grading may take [default: no limit].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def grade(
    profile: str | None,
    run_command: str | None,
    language: str | None,
    compile_command: str | None,
    suite: Suite,
    compile_profile: str | None,
    files: list[dict[str, Any]] | None,
    limits: dict[str, Any] | None,
    compile_limits: dict[str, Any] | None,
    exact: bool,
    checker: Any,
    interactor: Any,
    stop_on_failure: bool,
    timeout: float | None,
    as_json: bool,
) -> None:
    """Grade a submission against the tests in DIR, through the queue.

    Compiles once with --compile (else only puts the files in place), runs --run on
    every test's input in parallel on the worker host that holds the compiled files,
    and judges each output: compared with the expected one (trailing whitespace ignored
    unless --exact or another --checker), or by a testlib-style checker or interactor.
    PROFILE runs the tests. Or: --language ID --file SOURCE, and the catalogue says how
    to compile and run.
    """
    if interactor is None:
        try:
            require_expected(suite.cases)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="'--tests'") from None
    run_step, compile_step, files = grading_steps(
        language,
        profile,
        run_command,
        compile_command,
        compile_profile,
        files,
        limits,
        compile_limits,
    )
    summary = grade_with_progress(
        suite.cases,
        run_step,
        compile_step,
        files,
        exact,
        not as_json,
        timeout,
        checker=checker,
        interactor=interactor,
        groups=suite.groups,
        stop_on_failure=stop_on_failure,
    )
    if as_json:
        print_json(summary)
    else:
        console = stdout_console()
        console.print(report_view(summary, console.width))
    accepted = summary["verdict"] == "accepted"
    raise click.exceptions.Exit(ExitCode.OK if accepted else ExitCode.FAILED)
