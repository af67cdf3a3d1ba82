"""Settings shared by the whole test session, fixed before graderq reads them."""

import os

# Tests use their own Redis databases and a short visibility timeout, so that a killed
# worker's task is redelivered within seconds; tests/distributed/test_examday_workers.py
# measures the production default (60 s) on its own.
TEST_ENV = {
    "GRADERQ_BROKER_URL": "redis://127.0.0.1:6379/14",
    "GRADERQ_RESULT_BACKEND": "redis://127.0.0.1:6379/15",
    "GRADERQ_TASK_TIME_LIMIT": "120",
    "GRADERQ_TASK_TIME_MARGIN": "3",
    "GRADERQ_VISIBILITY_TIMEOUT": "24",
    "GRADERQ_RESTORE_INTERVAL": "1",
    "GRADERQ_WORKDIR_TIMEOUT": "30",
}
for _name, _value in TEST_ENV.items():
    os.environ.setdefault(_name, _value)
