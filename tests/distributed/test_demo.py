"""The README's main job: `python -m graderq.demo` grades a submission end to end."""

import subprocess
import sys

from .conftest import REPO


def test_demo_grades_through_a_real_worker() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "graderq.demo"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4/4 tests passed; graded through the queue" in done.stdout
