"""The queue: graderq's Celery app, its tasks, and the worker that serves them.

The app and its configuration (app, broker, results), where work goes (routing,
tenants), graderq's own Redis records (records), the tasks (tasks) and what a worker
runs them with (worker, timelimits, metrics, testrun, interactive, program_cache,
callbacks, webhooks), how producers wait (waiting, unavailable), and local worker
processes (launcher). A producer imports tasks without Docker: whatever needs Docker
is imported inside the tasks' bodies, on a worker.

Layer rules (checked by tests/test_layers.py):
- may import: ground, sandbox, engine, judging
- never imported by: ground, sandbox, engine, judging
"""
