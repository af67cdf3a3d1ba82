"""The queue: graderq's Celery app, its tasks, and the worker that serves them."""
