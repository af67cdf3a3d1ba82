"""What one sandbox can learn about or do to the others: the block devices (disk images
and their I/O), PTYs, and io_uring, a kernel interface outside seccomp's view."""

from __future__ import annotations

import shlex

import pytest

import graderq
from tests.attacks.support import assert_still_works, fields, probe

pytestmark = pytest.mark.timeout(60)

REVEALING = [
    "/proc/diskstats",
    "/proc/partitions",
    "/sys/block",
    "/sys/class/block",
    "/sys/dev/block",
    "/sys/devices/virtual/block",
    "/sys/class/bdi",
    "/sys/devices/virtual/bdi",
    "/sys/fs/ext4",
]
"""Each lists the loop devices (whose backing_file names every disk image, with its
volume and node) or their I/O counters."""


def test_block_devices_and_their_images_are_hidden(engine: graderq.Engine) -> None:
    """With another disk attached (a workdir's), a sandbox with a disk of its own sees
    no block device, no image path and no I/O counter."""
    command = shlex.join(["python3", "leaks.py", *REVEALING])
    with engine.working_directory():
        result = engine.run("python", command, files=[probe("leaks.py")])

    assert result["exit_code"] == 0, result
    lines = result["stdout"].decode().splitlines()
    assert not [line for line in lines if line.startswith("leak ")], lines
    seen = dict(line.split(" ", 1) for line in lines)
    assert set(seen) == set(REVEALING)
    shown = {path: what for path, what in seen.items() if what not in ("empty", "absent")}
    assert not shown, f"visible: {shown}"
    assert_still_works(engine)


def test_no_sandbox_can_take_the_hosts_ptys(engine: graderq.Engine) -> None:
    """kernel.pty.max is shared by every devpts instance: one sandbox took 3,071 PTYs and
    every other container got ENOSPC. Sandboxes have no PTY device at all now."""
    grab = (
        "import os\n"
        "fds = []\n"
        "try:\n"
        "    while len(fds) < 5000:\n"
        "        fds.extend(os.openpty())\n"
        "except OSError as exc:\n"
        "    print(len(fds) // 2, exc.errno)\n"
    )
    result = engine.run("python", f"python3 -c {shlex.quote(grab)}; ls -A /dev/pts")

    assert result["exit_code"] == 0, result
    assert result["stdout"] == b"0 2\n", result  # ENOENT: no /dev/ptmx, empty /dev/pts
    assert_still_works(engine)


@pytest.mark.parametrize("profile", ["gcc_compile", "gcc_root"])
def test_io_uring_is_refused(engine: graderq.Engine, profile: str) -> None:
    """Docker 20.10's default seccomp profile allows io_uring_setup; graderq's own does not."""
    result = engine.run(
        profile,
        "gcc -o iouring iouring.c && ./iouring",
        files=[probe("iouring.c")],
        limits={"cputime": 5, "realtime": 20},
    )

    assert result["exit_code"] == 0, result
    outcomes = fields(result["stdout"])
    assert set(outcomes) == {"io_uring_setup", "io_uring_enter", "io_uring_register"}
    assert set(outcomes.values()) <= {"EPERM", "ENOSYS"}, outcomes
    assert_still_works(engine)
