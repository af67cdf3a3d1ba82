"""Start and stop local `celery -A graderq worker` processes: for the demo, the
benchmarks and the tests. Production runs workers under a process manager instead
(Procfile, docker-compose.yml)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

READY = " ready."
"""What a worker logs (at INFO) once it consumes its queues."""


@dataclass
class WorkerProcess:
    """One worker process group (the main process and its pool), logging to a file."""

    name: str
    process: subprocess.Popen
    log: Path

    @property
    def hostname(self) -> str:
        """The worker's Celery node name."""
        return f"{self.name}@{os.uname().nodename}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 60) -> None:
        """A warm shutdown (SIGTERM: running tasks finish); SIGKILL if it lingers."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL the whole group at once, as a crash would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)


def start_worker(
    name: str,
    log: Path,
    concurrency: int = 2,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    timeout: float = 60,
) -> WorkerProcess:
    """Start a worker in its own session (`env` over this process's) and wait until it
    is ready; raise RuntimeError with its log's tail if it dies or takes too long."""
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "graderq",
        "worker",
        "-n",
        f"{name}@%h",
        "-c",
        str(concurrency),
        "--without-mingle",
        "--without-gossip",
        "-l",
        "INFO",
        *args,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            env=os.environ | dict(env or {}),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    worker = WorkerProcess(name, process, log)
    deadline = time.monotonic() + timeout
    while READY not in worker.output():
        if process.poll() is not None or time.monotonic() > deadline:
            worker.stop()
            raise RuntimeError(f"worker {name} did not start; its log:\n{worker.output()[-3000:]}")
        time.sleep(0.05)  # polling the log file, bounded by the deadline
    return worker
