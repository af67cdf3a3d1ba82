"""Verdicts: what a run's result means for a test case, and a submission's report.

Pure functions over result dicts. A test's verdict is decided on the worker that ran
it (graderq.queue.testrun calls `judged_row`), where the full output is at hand; the report,
built at the end of the grading chain by `report`, keeps a bounded part of each
output, with its sha256, and adds the scores.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from graderq.judging import scoring
from graderq.judging.comparators import exact as exact_match
from graderq.judging.comparators import lines as lines_match
from graderq.judging.verdicts import Verdict

__all__ = ["Verdict", "judge_run", "judged_row", "report", "run_failed", "same_output"]

FACTS = ("exit_code", "duration", "cpu_time", "memory_peak")
"""What a report row keeps of a run's measured facts."""
FLAGS = ("timeout", "oom_killed", "output_truncated")


def as_bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def same_output(got: bytes, expected: bytes, exact: bool = False) -> bool:
    """Equal outputs; by default trailing whitespace of each line and of the end is ignored."""
    return exact_match(got, expected) if exact else lines_match(got, expected)


def run_failed(result: Mapping[str, Any]) -> bool:
    """Whether a run failed: non-zero or no exit code, timeout, OOM or truncated output."""
    return bool(
        result["exit_code"] != 0
        or result["timeout"]
        or result["oom_killed"]
        or result.get("output_truncated")
    )


def limit_verdict(result: Mapping[str, Any]) -> Verdict | None:
    """The verdict of a run that failed by itself: limits first, then the exit code."""
    if result.get("output_truncated"):
        return Verdict.OUTPUT_LIMIT
    if result["oom_killed"]:
        return Verdict.MEMORY_LIMIT
    if result["timeout"]:
        return Verdict.TIME_LIMIT
    if result["exit_code"] != 0:
        return Verdict.RUNTIME_ERROR
    return None


def judge_run(result: Mapping[str, Any], expected: bytes, exact: bool = False) -> Verdict:
    """The verdict of one test run compared line by line (or byte for byte)."""
    failed = limit_verdict(result)
    if failed is not None:
        return failed
    if not same_output(result["stdout"], expected, exact):
        return Verdict.WRONG_ANSWER
    return Verdict.ACCEPTED


def interactive_verdict(run: Mapping[str, Any], interactor: Mapping[str, Any]) -> Verdict | None:
    """A cross-wired test's verdict before the interactor's own: None to take its check.

    The submission's output and memory limits come first. Then a wrong answer,
    presentation error or failure that the interactor gave by itself (it stopped the
    dialogue, so the submission's later failure, e.g. a broken pipe, is its
    consequence). Then the submission's time limit (a deadlock ends so) and runtime error.
    """
    if run.get("output_truncated"):
        return Verdict.OUTPUT_LIMIT
    if run["oom_killed"]:
        return Verdict.MEMORY_LIMIT
    if interactor["exit_code"] in (1, 2, 3) and not interactor["timeout"]:
        return None
    return limit_verdict(run)


def bounded(result: Mapping[str, Any], cap: int) -> dict[str, Any]:
    """A run's facts with at most `cap` bytes of stdout and of stderr, each with a
    STREAM_truncated flag and the STREAM_sha256 of the whole output the run kept."""
    row: dict[str, Any] = {key: result.get(key) for key in FACTS + FLAGS}
    for stream in ("stdout", "stderr"):
        data = bytes(result.get(stream) or b"")
        row[stream] = data[:cap]
        row[f"{stream}_truncated"] = len(data) > cap
        row[f"{stream}_sha256"] = hashlib.sha256(data).hexdigest()
    return row


def judged_row(
    result: Mapping[str, Any], check: Mapping[str, Any] | None, verdict: Verdict, cap: int
) -> dict[str, Any]:
    """What a judged test reports: its bounded run, verdict, checker message, points share
    and first difference (`check` is None when the checker never ran)."""
    check = check or {}
    return bounded(result, cap) | {
        "verdict": str(verdict),
        "checker_message": check.get("message"),
        "share": check.get("share") if verdict == Verdict.PARTIAL else None,
        "difference": check.get("difference") if verdict == Verdict.WRONG_ANSWER else None,
    }


def skipped_row() -> dict[str, Any]:
    """A test not run: an earlier one failed under stop_on_failure."""
    empty = {"exit_code": None, "timeout": False, "oom_killed": False, "stdout": b"", "stderr": b""}
    return judged_row(empty, None, Verdict.SKIPPED, 0)


def failed_program_row(message: str) -> dict[str, Any]:
    """A test not run because the grading's checker or interactor is broken."""
    empty = {"exit_code": None, "timeout": False, "oom_killed": False, "stdout": b"", "stderr": b""}
    return judged_row(empty, {"message": message}, Verdict.CHECKER_ERROR, 0)


def report(
    outcome: Mapping[str, Any],
    tests: Sequence[Mapping[str, Any]],
    exact: bool = False,
    groups: Mapping[str, Any] | None = None,
    stop_on_failure: bool = False,
) -> dict[str, Any]:
    """A submission's report from compile_and_run's outcome and the tests.

    {'verdict', 'passed', 'total', 'compile', 'tests': [row], 'cpu_time', 'memory_peak',
    'score', 'max_score', 'groups'}: each row has the test's 'name', 'verdict',
    'points', 'score', 'group', 'checker_message', 'difference', measured facts and
    bounded outputs. The overall verdict is "checker error" if a test has it (the
    teacher's program failed), else the first test's that is not accepted.
    """
    groups = groups or {}
    points = scoring.test_points(tests, groups)
    compiled = outcome["compile"]
    if not outcome["compiled"]:
        return _compile_error(compiled, tests, points, groups)
    rows = []
    failed_before = False
    for index, (test, run) in enumerate(zip(tests, _runs(outcome, tests), strict=True)):
        row = run if "verdict" in run else _judged(run, test, exact)
        if failed_before and stop_on_failure:
            row = skipped_row()
        failed_before = failed_before or row["verdict"] != Verdict.ACCEPTED
        rows.append(_named(row, test, index, points[index]))
    return _summary(rows, compiled, groups)


def _runs(outcome: Mapping[str, Any], tests: Sequence[Mapping[str, Any]]) -> list[Any]:
    if outcome.get("program_error"):
        return [failed_program_row(outcome["program_error"]) for _ in tests]
    return list(outcome["runs"])


def _judged(run: Mapping[str, Any], test: Mapping[str, Any], exact: bool) -> dict[str, Any]:
    """A raw run's row, compared with the test's expected output (old-style outcomes)."""
    verdict = judge_run(run, as_bytes(test.get("expected", b"")), exact)
    return judged_row(run, None, verdict, len(run["stdout"]) + len(run["stderr"]))


def _named(row: Mapping[str, Any], test: Mapping[str, Any], index: int, points: float) -> dict:
    score = scoring.row_score(row["verdict"], points, row.get("share"))
    return {
        "name": test.get("name") or f"test {index + 1}",
        **row,
        "points": points,
        "score": score,
        "group": test.get("group"),
    }


def _summary(
    rows: list[dict[str, Any]], compiled: Any, groups: Mapping[str, Any]
) -> dict[str, Any]:
    verdicts = [row["verdict"] for row in rows]
    failed = [verdict for verdict in verdicts if verdict != Verdict.ACCEPTED]
    if Verdict.CHECKER_ERROR in failed:
        overall = str(Verdict.CHECKER_ERROR)
    else:
        overall = failed[0] if failed else str(Verdict.ACCEPTED)
    return {
        "verdict": overall,
        "passed": len(rows) - len(failed),
        "total": len(rows),
        "compile": compiled,
        "tests": rows,
        "cpu_time": _largest(row["cpu_time"] for row in rows),
        "memory_peak": _largest(row["memory_peak"] for row in rows),
        **scoring.score(rows, groups),
    }


def _compile_error(
    compiled: Any,
    tests: Sequence[Mapping[str, Any]],
    points: list[float],
    groups: Mapping[str, Any],
) -> dict[str, Any]:
    unjudged = [
        {"verdict": str(Verdict.COMPILE_ERROR), "group": test.get("group"), "points": p, "score": 0}
        for test, p in zip(tests, points, strict=True)
    ]
    return {
        "verdict": str(Verdict.COMPILE_ERROR),
        "passed": 0,
        "total": len(tests),
        "compile": compiled,
        "tests": [],
        "cpu_time": None,
        "memory_peak": None,
        **scoring.score(unjudged, groups),
    }


def _largest(values: Any) -> Any:
    known = [value for value in values if value is not None]
    return max(known) if known else None
