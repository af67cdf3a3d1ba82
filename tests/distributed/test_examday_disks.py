"""Exam day, disks, through the queue: a node over GRADERQ_MAX_DISKS refuses a new
workdir with TooManyDisks, and a full disk dir never lets a run report success."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from graderq import client
from graderq.errors import DiskError, TooManyDisks
from graderq.queue.launcher import WorkerProcess
from tests.integration.support import fill


def test_a_node_over_its_disk_cap_refuses_another_workdir(
    start_own_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    start_own_worker("capped", GRADERQ_MAX_DISKS="1", GRADERQ_DISK_DIR=str(tmp_path / "disks"))
    with client.working_directory(disk=8) as first:
        assert client.run("python", "echo held", workdir=first, timeout=60)["stdout"] == b"held\n"
        with (
            pytest.raises(TooManyDisks, match="GRADERQ_MAX_DISKS"),
            client.working_directory(disk=8),
        ):
            pass
    with client.working_directory(disk=8) as again:  # the first one's disk is gone
        assert client.run("python", "echo room", workdir=again, timeout=60)["stdout"] == b"room\n"


def test_a_full_disk_dir_never_lets_a_run_report_success(
    start_own_worker: Callable[..., WorkerProcess], small_disk_dir: Path
) -> None:
    start_own_worker("cramped", GRADERQ_DISK_DIR=str(small_disk_dir))
    fill(small_disk_dir, leave_mb=4)
    with pytest.raises(DiskError, match="MB free"):
        client.run(
            "python",
            "head -c 8000000 /dev/zero > big; sync; ls -l big",
            files=[{"name": "a", "content": "x"}],
            limits={"disk": 32},
            timeout=60,
        )
