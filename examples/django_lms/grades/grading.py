"""The LMS's side of grading: the built-in problem, sending a submission to graderq,
and storing its verdict however it arrives (callback, poll by id, or waiting)."""

from typing import Any

from django.db.models import Q
from graderq import client
from graderq.plain_json import jsonable

from grades.models import Submission
from lms.celery import app

TITLE = "A+B: read two integers, print their sum"
TESTS = [
    {"name": "small", "stdin": "1 2", "expected": "3"},
    {"name": "negative", "stdin": "10 -4", "expected": "6"},
    {"name": "large", "stdin": "1000000000 1000000000", "expected": "2000000000"},
]
LIMITS = {"cputime": 1, "realtime": 5, "memory": 64}
LANGUAGES: dict[str, dict[str, Any]] = {
    Submission.Language.PYTHON: {
        "source": "main.py",
        "run": {"profile_name": "python", "command": "python3 main.py", "limits": LIMITS},
    },
    Submission.Language.C: {
        "source": "main.c",
        "compile": {
            "profile_name": "gcc_compile",
            "command": "gcc -O2 -o main main.c",
            "limits": {"cputime": 5, "realtime": 10, "memory": 256},
        },
        "run": {"profile_name": "gcc_run", "command": "./main", "limits": LIMITS},
    },
}


def enqueue(submission: Submission, callback: bool = True) -> None:
    """Send the submission to graderq; with `callback`, graderq's worker calls
    lms.store_grade (on the LMS's queue) when the verdict is in."""
    language = LANGUAGES[submission.language]
    signature = (
        app.signature("lms.store_grade", args=[submission.pk], queue="lms") if callback else None
    )
    handle = client.grade(
        language["run"],
        TESTS,
        compile=language.get("compile"),
        files=[{"name": language["source"], "content": submission.code}],
        callback=signature,
    )
    submission.task_id = handle.id
    submission.save(update_fields=["task_id"])


def verdict_of(report: dict[str, Any]) -> str:
    """A grading report's verdict; a failed grading (an error dict) is an "error"."""
    return report.get("verdict") or "error"


def store(submission_id: int, report: dict[str, Any], graded_by: str) -> bool:
    """Store the verdict unless one is stored already (the first to arrive wins; all
    ways carry the same report). Returns whether this call stored it."""
    pending = Q(pk=submission_id, verdict="")
    stored = Submission.objects.filter(pending).update(
        verdict=verdict_of(report), report=jsonable(report), graded_by=graded_by
    )
    return stored == 1
