"""Checking what a producer asks to run: steps of a compile_and_run or a grading, and
test cases. Pure; a bad request is refused before anything is queued."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from celery import chain
from celery.canvas import Signature

from graderq.errors import (
    CheckerSpecError,
    LanguageError,
    LimitError,
    RequestError,
    RequestTypeError,
)
from graderq.judging import checkers, scoring
from graderq.languages import get_language
from graderq.limits import check_names
from graderq.queue.tasks import STEP_KEYS, judge
from graderq.queue.tasks import compile_and_run as compile_and_run_task
from graderq.request import check_keys


def step(step: Mapping[str, Any], what: str) -> dict[str, Any]:
    """A checked step: a dict of run_sandbox's arguments but workdir."""
    if not isinstance(step, Mapping):
        raise RequestTypeError(f"{what} must be a dict of run_sandbox arguments")
    check_keys(step, STEP_KEYS, what)
    if "profile_name" not in step:
        raise RequestError(f"{what} needs a 'profile_name'")
    return dict(step)


TEST_KEYS = frozenset({"stdin", "expected", "name", "points", "group", "limits"})


def test_case(test: Mapping[str, Any], index: int, interactive: bool) -> dict[str, Any]:
    """A checked test: {'stdin', 'expected', 'limits', 'name', 'points', 'group'}; an
    interactive test needs no 'expected' (its interactor judges)."""
    if not isinstance(test, Mapping) or not ("expected" in test or interactive):
        raise RequestError(
            f"tests[{index}] must be a dict with 'expected' (and 'stdin', 'name', 'points', "
            "'group', 'limits')"
        )
    check_keys(test, TEST_KEYS, f"tests[{index}]")
    expected = test.get("expected", b"")
    if not isinstance(expected, str | bytes):
        raise RequestTypeError(f"tests[{index}]['expected'] must be bytes or str")
    limits = test.get("limits")
    if limits is not None:
        if not isinstance(limits, Mapping):
            raise LimitError(f"tests[{index}]['limits'] must be a dict")
        check_names(limits)
    return {
        "stdin": test.get("stdin"),
        "expected": expected,
        "limits": None if limits is None else dict(limits),
        "name": test.get("name"),
        **scoring.check_test(test, index),
    }


def over(limits: Mapping[str, Any] | None, own: Mapping[str, Any] | None) -> Any:
    """A test's own limits over the run's, name by name."""
    if own is None:
        return None if limits is None else dict(limits)
    return dict(limits or {}) | dict(own)


def language_steps(
    language: Any,
    source: Any,
    run: Any,
    compile: Any,
    files: Sequence[Mapping[str, Any]] | None,
    limits: Mapping[str, Any] | None = None,
    compile_limits: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """The run step, compile step and files of a submission in a catalogue language;
    `limits` and `compile_limits` go over the profiles' own, name by name."""
    if run is not None or compile is not None:
        raise LanguageError(
            "give language= or run/compile steps, not both: the language's catalogue "
            "entry says how to compile and run"
        )
    if source is None:
        raise LanguageError(f"language={language!r} needs source=, the program's text")
    entry = get_language(language)
    return entry.run_step(limits), entry.compile_step(compile_limits), entry.files(source, files)


def grading(
    task_id: str,
    run: Mapping[str, Any] | None,
    tests: Sequence[Mapping[str, Any]] | None,
    compile: Mapping[str, Any] | None,
    files: Sequence[Mapping[str, Any]] | None,
    exact: bool,
    checker: Any,
    interactor: Mapping[str, Any] | None,
    groups: Mapping[str, Mapping[str, Any]] | None,
    stop_on_failure: bool,
) -> Signature:
    """The checked chain of a grading whose report will have the id `task_id`:
    compile_and_run (with its runs' judging), then judge (scores, groups, skips)."""
    if run is None:
        raise RequestError("grade needs a run step, or language= and source=")
    if tests is None:
        raise RequestError("grade needs tests: a list of {'stdin', 'expected', 'name'}")
    run_step = step(run, "run")
    if "stdin" in run_step:
        raise RequestError("run must not have 'stdin': each test gives its own")
    spec = checkers.parse_checker(checker, exact)
    program = checkers.parse_interactor(interactor)
    if program is not None and (checker is not None or exact):
        raise CheckerSpecError("an interactive problem's interactor is its checker; give one")
    cases = [test_case(test, i, program is not None) for i, test in enumerate(tests)]
    checked_groups = scoring.check_groups(groups, cases)
    if not isinstance(stop_on_failure, bool):
        raise RequestTypeError("stop_on_failure must be a bool")
    compile_step = step(
        compile if compile is not None else {"profile_name": run_step["profile_name"]},
        "compile",
    )
    compile_step.setdefault("command", "true")
    steps = [
        run_step | {"stdin": case["stdin"], "limits": over(run_step.get("limits"), case["limits"])}
        for case in cases
    ]
    grading = {
        "id": task_id,
        "checker": spec,
        "interactor": program,
        "answers": [case["expected"] for case in cases],
        "stop_on_failure": stop_on_failure,
    }
    named = [{key: case[key] for key in ("name", "points", "group")} for case in cases]
    return chain(
        compile_and_run_task.s(
            compile_step, steps, list(files) if files is not None else None, grading=grading
        ),
        judge.s(named, exact, checked_groups, stop_on_failure, run_step["profile_name"]),
    )
