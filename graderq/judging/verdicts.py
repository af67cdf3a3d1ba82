"""The verdicts a test, or a whole submission, can get."""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    WRONG_ANSWER = "wrong answer"
    TIME_LIMIT = "time limit"
    MEMORY_LIMIT = "memory limit"
    OUTPUT_LIMIT = "output limit"
    RUNTIME_ERROR = "runtime error"
    COMPILE_ERROR = "compile error"
    PRESENTATION_ERROR = "presentation error"
    """The output is malformed (a checker's exit code 2)."""
    CHECKER_ERROR = "checker error"
    """The teacher's checker or interactor failed, not the submission (testlib's _fail)."""
    SKIPPED = "skipped"
    """Not judged: an earlier test failed under stop_on_failure."""
    PARTIAL = "partial"
    """Partly right: the checker gave a share of the test's points (testlib's quitp)."""
