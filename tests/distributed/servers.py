"""A Redis server of a test's own, on loopback, that the test can take away and bring
back (append-only, as docker-compose.yml runs it, so queued tasks survive)."""

from __future__ import annotations

import shutil
import subprocess
import time
from contextlib import suppress
from pathlib import Path

import redis


class RedisServer:
    def __init__(self, port: int, directory: Path) -> None:
        self.port = port
        self.directory = directory
        self.url = f"redis://127.0.0.1:{port}"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--daemonize",
                "yes",
                "--dir",
                str(self.directory),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--logfile",
                str(self.directory / "redis.log"),
            ],
            check=True,
        )
        deadline = time.monotonic() + 20
        while not self.answers():
            if time.monotonic() > deadline:
                raise AssertionError(f"redis on port {self.port} did not start")
            time.sleep(0.05)

    def answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        """Take the server away (its append-only file keeps what it held)."""
        if self.answers():
            with suppress(redis.ConnectionError):  # the server closes it as it goes
                redis.Redis(port=self.port, socket_timeout=5).shutdown(save=False)
        deadline = time.monotonic() + 20
        while self.answers():
            if time.monotonic() > deadline:
                raise AssertionError(f"redis on port {self.port} did not stop")
            time.sleep(0.05)

    def pid(self) -> int:
        """The server's process id, as it reports it."""
        return int(redis.Redis(port=self.port, socket_timeout=5).info("server")["process_id"])
