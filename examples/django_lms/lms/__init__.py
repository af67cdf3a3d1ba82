"""An example LMS that grades submissions with graderq."""

from lms.celery import app as celery_app

__all__ = ["celery_app"]
