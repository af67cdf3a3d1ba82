"""Verdicts: what a run's result means for a test case, and a submission's summary.

Pure functions over result dicts; `graderq.client.grade` runs them on a worker at the
end of a compile-once, run-many grading chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    WRONG_ANSWER = "wrong answer"
    TIME_LIMIT = "time limit"
    MEMORY_LIMIT = "memory limit"
    OUTPUT_LIMIT = "output limit"
    RUNTIME_ERROR = "runtime error"
    COMPILE_ERROR = "compile error"


def as_bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def same_output(got: bytes, expected: bytes, exact: bool = False) -> bool:
    """Equal outputs; by default trailing whitespace of each line and of the end is ignored."""
    if exact:
        return got == expected

    def lines(data: bytes) -> list[bytes]:
        return [line.rstrip() for line in data.rstrip().split(b"\n")]

    return lines(got) == lines(expected)


def run_failed(result: Mapping[str, Any]) -> bool:
    """Whether a run failed: non-zero or no exit code, timeout, OOM or truncated output."""
    return bool(
        result["exit_code"] != 0
        or result["timeout"]
        or result["oom_killed"]
        or result.get("output_truncated")
    )


def judge_run(result: Mapping[str, Any], expected: bytes, exact: bool = False) -> Verdict:
    """The verdict of one test run: limits first, then the exit code, then the output."""
    if result["output_truncated"]:
        return Verdict.OUTPUT_LIMIT
    if result["oom_killed"]:
        return Verdict.MEMORY_LIMIT
    if result["timeout"]:
        return Verdict.TIME_LIMIT
    if result["exit_code"] != 0:
        return Verdict.RUNTIME_ERROR
    if not same_output(result["stdout"], expected, exact):
        return Verdict.WRONG_ANSWER
    return Verdict.ACCEPTED


def report(
    outcome: Mapping[str, Any], tests: Sequence[Mapping[str, Any]], exact: bool = False
) -> dict[str, Any]:
    """A submission's report from compile_and_run's outcome and the test cases.

    {'verdict', 'passed', 'total', 'compile', 'tests': [{'name', 'verdict', 'exit_code',
    'duration', 'cpu_time', 'memory_peak', 'stdout', 'stderr'}], 'cpu_time',
    'memory_peak'}: the overall verdict is the first test's that is not accepted.
    """
    total = len(tests)
    compiled = outcome["compile"]
    if not outcome["compiled"]:
        return {
            "verdict": str(Verdict.COMPILE_ERROR),
            "passed": 0,
            "total": total,
            "compile": compiled,
            "tests": [],
            "cpu_time": None,
            "memory_peak": None,
        }
    rows = []
    for index, (test, result) in enumerate(zip(tests, outcome["runs"], strict=True)):
        verdict = judge_run(result, as_bytes(test.get("expected", b"")), exact)
        rows.append(
            {
                "name": test.get("name") or f"test {index + 1}",
                "verdict": str(verdict),
                **{
                    key: result[key]
                    for key in (
                        "exit_code",
                        "duration",
                        "cpu_time",
                        "memory_peak",
                        "stdout",
                        "stderr",
                    )
                },
            }
        )
    failed = [row["verdict"] for row in rows if row["verdict"] != Verdict.ACCEPTED]
    return {
        "verdict": failed[0] if failed else str(Verdict.ACCEPTED),
        "passed": total - len(failed),
        "total": total,
        "compile": compiled,
        "tests": rows,
        "cpu_time": _largest(row["cpu_time"] for row in rows),
        "memory_peak": _largest(row["memory_peak"] for row in rows),
    }


def _largest(values: Any) -> Any:
    known = [value for value in values if value is not None]
    return max(known) if known else None
