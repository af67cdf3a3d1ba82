"""`from graderq.app import app`: the documented path of graderq's Celery app (for
AsyncResult(id, app=app), as examples/django_lms does).

The app lives in graderq.queue.app (`celery -A graderq` finds it as graderq.celery);
this module only re-exports it. Nothing in graderq imports it.
"""

from graderq.queue.app import app

__all__ = ["app"]
