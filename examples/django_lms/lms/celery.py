"""The LMS's own Celery app, configured the Django way (CELERY_* settings).

It shares graderq's broker: graderq's workers send the LMS's callback tasks there,
to the queue "lms", which only the LMS's worker consumes.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings")

app = Celery("lms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
