"""What `checker=` names, and testlib's convention for a teacher's checker or interactor.

A checker is a built-in comparator ("exact", "lines", "tokens", "tokens-nocase",
"float" or {"float": {"abs", "rel"}}), or a program (graderq.judging.programs) run in a
sandbox of its own as `COMMAND input.txt output.txt answer.txt`. A program's exit code is its
verdict, as testlib's quitf/quitp make it; its message is the first line of its stderr
(or stdout). A check is {'verdict', 'message', 'share', 'difference'}: `share` is the
part of the test's points a partial verdict gives.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from graderq.errors import CheckerSpecError
from graderq.judging.comparators import BUILT_IN, Tolerance, compare, first_difference
from graderq.judging.programs import first_line, parse_program, reference
from graderq.judging.verdicts import Verdict

TESTLIB_VERDICTS = {
    0: Verdict.ACCEPTED,
    1: Verdict.WRONG_ANSWER,
    2: Verdict.PRESENTATION_ERROR,
    3: Verdict.CHECKER_ERROR,
    7: Verdict.PARTIAL,
}
"""testlib's exit codes: _ok, _wa, _pe, _fail, _points (quitp)."""
CHECKER_FILES = ("input.txt", "output.txt", "answer.txt")
INTERACTOR_FILES = ("input.txt", "output.txt")
_POINTS = re.compile(r"^\s*points\s+([-+0-9.eE]+)")
"""testlib's quitp message: 'points ' then the points (%.10f, trailing zeros cut)."""


def parse_checker(checker: Any, exact: bool = False) -> dict[str, Any]:
    """The checked form of `checker=`: {'kind': NAME} for a built-in (with 'abs' and
    'rel' for "float"), {'kind': 'program', 'program': ...} for a teacher's checker."""
    if checker is None:
        return {"kind": "exact" if exact else "lines"}
    spec = _parse(checker)
    if exact and spec["kind"] != "exact":
        raise CheckerSpecError(f"exact=True and checker={checker!r} disagree; give one")
    return spec


def _parse(checker: Any) -> dict[str, Any]:
    if isinstance(checker, str):
        if checker not in BUILT_IN:
            raise CheckerSpecError(
                f"unknown checker {checker!r}; built-in checkers: {', '.join(BUILT_IN)}, "
                "or a program {'profile_name', 'command', 'files'}"
            )
        return {"kind": checker} | (_tolerance({}) if checker == "float" else {})
    if isinstance(checker, Mapping) and set(checker) == {"float"}:
        return {"kind": "float"} | _tolerance(checker["float"])
    if isinstance(checker, Mapping) and "profile_name" in checker:
        return {"kind": "program", "program": _own_files(checker, "checker", CHECKER_FILES)}
    raise CheckerSpecError(
        f"checker must be a built-in's name, {{'float': {{'abs': ..., 'rel': ...}}}}, or a "
        f"program {{'profile_name', 'command', 'files'}}; got {checker!r}"
    )


def parse_interactor(interactor: Any) -> dict[str, Any] | None:
    """The checked interactor program, or None."""
    if interactor is None:
        return None
    return _own_files(interactor, "interactor", INTERACTOR_FILES)


def _own_files(value: Any, what: str, given: tuple[str, ...]) -> dict[str, Any]:
    program = parse_program(value, what)
    clash = sorted({file["name"] for file in program["files"]} & set(given))
    if clash:
        raise CheckerSpecError(f"{what} files {clash} would hide the files each test gives it")
    return program


DEFAULT_TOLERANCE = {"abs": 1e-6, "rel": 1e-6}
"""The tolerance of a bare "float" checker: a number within 1e-6, absolute or relative."""


def _tolerance(value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping) or set(value) - {"abs", "rel"}:
        raise CheckerSpecError(f"a float checker's tolerance is {{'abs', 'rel'}}, not {value!r}")
    # Bare "float": 1e-6 either way; a tolerance that names one bound has only that one.
    tolerance = {"abs": 0.0, "rel": 0.0} | dict(value) if value else dict(DEFAULT_TOLERANCE)
    for name, bound in tolerance.items():
        number = isinstance(bound, int | float) and not isinstance(bound, bool)
        if not number or not math.isfinite(bound) or bound < 0:
            raise CheckerSpecError(
                f"float checker: {name!r} must be a finite number >= 0, not {bound!r}"
            )
    return {name: float(bound) for name, bound in tolerance.items()}


def is_program(spec: Mapping[str, Any]) -> bool:
    return spec["kind"] == "program"


def for_tests(spec: Mapping[str, Any]) -> dict[str, Any]:
    """What each test's task needs of a checker: a program without its files."""
    if is_program(spec):
        return {"kind": "program", "program": reference(spec["program"])}
    return dict(spec)


def built_in_check(spec: Mapping[str, Any], got: bytes, expected: bytes) -> dict[str, Any]:
    """Compare with a built-in comparator; a wrong answer names the first differing line."""
    tolerance = Tolerance(spec["abs"], spec["rel"]) if spec["kind"] == "float" else None
    if compare(spec["kind"], got, expected, tolerance):
        return check(Verdict.ACCEPTED)
    return check(Verdict.WRONG_ANSWER, difference=first_difference(got, expected))


def check(
    verdict: Verdict,
    message: str | None = None,
    share: float | None = None,
    difference: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {"verdict": str(verdict), "message": message, "share": share, "difference": difference}


def program_check(result: Mapping[str, Any], what: str = "checker") -> dict[str, Any]:
    """The check a testlib-style program's run gives: its exit code's verdict and message.

    A program that failed itself (killed, out of memory, an exit code testlib never
    gives, a partial verdict without readable points) is a checker error: the teacher's.
    """
    message = first_line(result["stderr"]) or first_line(result["stdout"]) or None
    failed = _failure(result, what)
    if failed is not None:
        return check(Verdict.CHECKER_ERROR, failed if message is None else f"{failed}: {message}")
    verdict = TESTLIB_VERDICTS[result["exit_code"]]
    if verdict is Verdict.PARTIAL:
        share = points_share(message or "")
        if share is None:
            return check(
                Verdict.CHECKER_ERROR, f"{what} gave partial points out of 0..1: {message}"
            )
        return check(verdict, message, share)
    return check(verdict, message)


def _failure(result: Mapping[str, Any], what: str) -> str | None:
    if result.get("output_truncated"):
        return f"the {what}'s output passed its limit"
    if result["oom_killed"]:
        return f"the {what} ran out of memory"
    if result["timeout"] or result["exit_code"] is None:
        return f"the {what} did not finish in time"
    if result["exit_code"] not in TESTLIB_VERDICTS:
        return f"the {what} exited with {result['exit_code']}, not a testlib verdict"
    return None


def points_share(message: str) -> float | None:
    """The points of testlib's quitp message ('points 0.5 ...'), read as a share of the
    test's points: 0 to 1; None if there are none, or they are outside 0..1."""
    found = _POINTS.match(message)
    if found is None:
        return None
    try:
        share = float(found.group(1))
    except ValueError:
        return None
    return share if 0.0 <= share <= 1.0 else None
