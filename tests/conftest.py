"""Settings shared by the whole test session, fixed before graderq reads them, and the
fixtures that the integration and the distributed tests share."""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

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


@pytest.fixture
def small_disk_dir(tmp_path: Path) -> Iterator[Path]:
    """A disk dir on a file system of its own, 64 MB (a tmpfs), to fill in a test."""
    folder = tmp_path / "small-disks"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how fast the host ran sandboxes, when a test measured it (the `pace` fixture),
    so that a log of a slow run (the emulated VM) says how slow."""
    from tests.integration.conftest import MEASURED

    for pace in MEASURED:
        terminalreporter.write_line(pace.summary())
