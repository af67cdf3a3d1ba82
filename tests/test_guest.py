"""graderq in a process with the LMS's own Celery app: it changes nothing there."""

import subprocess
import sys

SCRIPT = """
from celery import Celery, current_app, shared_task
lms = Celery("lms", set_as_current=True)

@shared_task(name="lms.notify")
def notify():
    pass

import graderq, graderq.client, graderq.tasks  # what an LMS imports
assert current_app.main == "lms", current_app.main
lms.finalize()
assert not [name for name in lms.tasks if name.startswith("graderq.")], sorted(lms.tasks)
assert notify.app is lms
assert lms.amqp.router.route({}, "lms.notify")["queue"].name == "celery"
assert "graderq.run_sandbox" in graderq.tasks.app.tasks
assert not lms.steps["worker"], lms.steps
import sys
assert "docker" not in sys.modules, "a producer imported docker"
print("ok")
"""


def test_importing_graderq_leaves_the_lms_app_and_docker_alone() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
