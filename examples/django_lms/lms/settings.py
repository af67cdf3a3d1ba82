"""Settings of the example LMS; LMS_* environment variables override the defaults."""

import os
from pathlib import Path

from graderq.settings import get_settings

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("LMS_SECRET_KEY", "django-insecure-example-lms-only")
DEBUG = os.environ.get("LMS_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = ["grades"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
ROOT_URLCONF = "lms.urls"
WSGI_APPLICATION = "lms.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("LMS_DATABASE", BASE_DIR / "db.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

# Celery (lms/celery.py reads every CELERY_* setting). The broker is graderq's: its
# workers send the callbacks there, to the LMS's own queue.
CELERY_BROKER_URL = os.environ.get("LMS_BROKER_URL") or get_settings().broker_url
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "lms"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True

# How long the wait path (/submissions/<id>/wait) blocks at most.
LMS_WAIT_TIMEOUT = float(os.environ.get("LMS_WAIT_TIMEOUT", "60"))
