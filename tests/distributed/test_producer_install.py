"""A producer's install: `pip install graderq` without the worker extra, no `docker`
package, submits work to a real worker and gets its result."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from graderq.queue.launcher import WorkerProcess

from .conftest import REPO

VENVS = Path(os.environ.get("GRADERQ_TEST_CACHE", "/var/cache/graderq-tests"))

PRODUCER = textwrap.dedent(
    """
    import importlib.util, sys
    assert importlib.util.find_spec("docker") is None, "docker is installed"
    import graderq, graderq.client, graderq.tasks
    run = graderq.tasks.run_sandbox.delay("python", "echo from-a-producer").get(timeout=60)
    assert run["stdout"] == b"from-a-producer\\n", run
    report = graderq.client.grade(
        {"profile_name": "python", "command": "cat"}, [{"stdin": "7", "expected": "7"}]
    ).get(timeout=60)
    assert report["verdict"] == "accepted", report
    assert "docker" not in sys.modules
    print("producer ok")
    """
)


def producer_venv() -> Path:
    """A venv with graderq's producer dependencies (cached by pyproject.toml's hash),
    and this checkout installed in it afresh, without extras."""
    key = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()[:16]
    venv = VENVS / f"producer-{key}"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", str(REPO)], check=True)
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(REPO)],
        check=True,
    )
    return venv


def test_a_producer_installs_and_works_without_docker(
    start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    start_worker("for-producer")
    python = producer_venv() / "bin" / "python"
    done = subprocess.run(
        [python, "-c", PRODUCER],
        cwd=tmp_path,  # not the checkout: the installed package is imported
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "producer ok" in done.stdout
