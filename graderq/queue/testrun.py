"""One test of a grading, as a worker runs it: run, check, bound the output.

The test's verdict is decided here, beside the full output: the run's own failures
first (graderq.judging.report), then the checker: a built-in comparator, or the teacher's
program in a sandbox of its own, called `COMMAND input.txt output.txt answer.txt` as
testlib's registerTestlibCmd reads them. An interactive test runs cross-wired instead
(graderq.queue.interactive). The row keeps GRADERQ_REPORT_OUTPUT_BYTES of each stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graderq.engine import Engine
from graderq.judging import checkers, programs
from graderq.judging.report import as_bytes, judged_row, limit_verdict, skipped_row
from graderq.judging.verdicts import Verdict
from graderq.queue import program_cache, records
from graderq.queue.interactive import run_interactive
from graderq.settings import get_settings
from graderq.workdir import WorkingDirectory


def prepare(engine: Engine, grading: Mapping[str, Any], node: str | None) -> str | None:
    """Make the grading's checker and interactor ready on this node (compiled once, kept
    by hash); an error message naming the one that failed."""
    for what in ("checker", "interactor"):
        program = _program(grading, what)
        if program is not None:
            problem = program_cache.prepare(engine, program, node)
            if problem is not None:
                return f"the {what}'s {problem}"
    return None


def _program(grading: Mapping[str, Any], what: str) -> Mapping[str, Any] | None:
    if what == "checker":
        spec = grading.get("checker") or {}
        return spec.get("program") if checkers.is_program(spec) else None
    return grading.get("interactor")


def for_tests(grading: Mapping[str, Any]) -> dict[str, Any]:
    """What each test's task needs of the grading: programs by reference, no answers."""
    interactor = grading.get("interactor")
    return {
        "id": grading["id"],
        "checker": checkers.for_tests(grading["checker"]),
        "interactor": None if interactor is None else programs.reference(interactor),
        "stop_on_failure": bool(grading.get("stop_on_failure")),
    }


def run_test(
    engine: Engine,
    step: Mapping[str, Any],
    expected: bytes | str,
    index: int,
    grading: Mapping[str, Any],
    workdir: WorkingDirectory | None,
) -> dict[str, Any]:
    """The report row of test `index`: run it in `workdir`, judge it, bound its output."""
    stopping = grading.get("stop_on_failure")
    if stopping and records.failed_before(grading["id"], index):
        return skipped_row()
    interactor = grading.get("interactor")
    if interactor is not None:
        result, check, verdict = run_interactive(engine, step, workdir, interactor)
    else:
        result = engine.run(workdir=workdir, **step)
        check, verdict = _check(engine, grading["checker"], step, result, as_bytes(expected))
    if stopping and verdict != Verdict.ACCEPTED:
        records.mark_failed(grading["id"], index)
    return judged_row(result, check, verdict, get_settings().report_output_bytes)


def _check(
    engine: Engine,
    spec: Mapping[str, Any],
    step: Mapping[str, Any],
    result: Mapping[str, Any],
    expected: bytes,
) -> tuple[dict[str, Any] | None, Verdict]:
    failed = limit_verdict(result)
    if failed is not None:
        return None, failed
    if not checkers.is_program(spec):
        check = checkers.built_in_check(spec, result["stdout"], expected)
    else:
        check = run_checker(engine, spec["program"], step.get("stdin"), result["stdout"], expected)
    return check, Verdict(check["verdict"])


def run_checker(
    engine: Engine,
    program: Mapping[str, Any],
    stdin: bytes | str | None,
    output: bytes,
    answer: bytes,
) -> dict[str, Any]:
    """Run a teacher's checker over the test's input, the output and the answer."""
    given = dict(zip(checkers.CHECKER_FILES, (as_bytes(stdin or b""), output, answer), strict=True))
    ready = program_cache.ready_files(program)
    files = [*ready, *({"name": name, "content": data} for name, data in given.items())]
    command = " ".join((program["command"], *checkers.CHECKER_FILES))
    result = engine.run(program["profile_name"], command, files, None, program.get("limits"))
    return checkers.program_check(result)
