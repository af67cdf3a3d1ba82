"""`from graderq.tasks import run_sandbox`: the documented path of graderq's Celery tasks.

They live in graderq.queue.tasks; this module only re-exports them and their app, so
that producers written against this path keep working. Nothing in graderq imports it.
"""

from graderq.queue.tasks import (
    app,
    collect_runs,
    compile_and_run,
    create_workdir,
    deliver_webhook,
    judge,
    remove_workdir,
    run_sandbox,
    run_test,
)

__all__ = [
    "app",
    "collect_runs",
    "compile_and_run",
    "create_workdir",
    "deliver_webhook",
    "judge",
    "remove_workdir",
    "run_sandbox",
    "run_test",
]
