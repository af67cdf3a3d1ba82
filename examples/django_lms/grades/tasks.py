"""The LMS's Celery tasks; graderq's worker sends lms.store_grade to the queue "lms"."""

import logging
from typing import Any

from grades.grading import store
from lms.celery import app

log = logging.getLogger(__name__)


@app.task(name="lms.store_grade")
def store_grade(report: dict[str, Any], submission_id: int) -> None:
    """graderq's callback: `report` is the grading's report (or an error dict)."""
    if not store(submission_id, report, "callback"):
        log.info("submission %s was graded already", submission_id)
