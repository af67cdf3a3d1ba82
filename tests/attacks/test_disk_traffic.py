"""Disk traffic: a sandbox that rewrites 64 MB with O_DIRECT and fsync, over and over.
Unthrottled it wrote 6.6 GB in 8.5 s with 0.27 CPU-seconds (and 3.4 GB in 3.8 s here);
its disk's loop device is throttled to `io_write` MB/s and `io_iops` operations/s."""

from __future__ import annotations

import pytest

import graderq
from graderq.engine import WorkingDirectory
from tests.attacks.support import assert_still_works, probe
from tests.integration.support import MIB, make_settings

# cgroups: the throttles are blkio's on cgroup v1 and io.max on v2 (runc writes
# Docker's BlkioDevice* limits there), so these run in the cgroup-v2 VM too.
pytestmark = [pytest.mark.timeout(90), pytest.mark.cgroups]

BURST = 8 * MIB  # the throttle's slice (100 ms at the rate) and a write in flight
"""blkio lets a throttled group start with about one time slice's worth of I/O."""


ROOMY = {"cputime": 60, "realtime": 120}
"""For the compile, on any host: under the VM's emulation gcc alone takes seconds."""


@pytest.fixture(scope="module")
def rewrite_binary() -> bytes:
    """The rewrite loop (probes/rewrite.c), compiled once in its own run, so that the
    loop's runs measure the disk and nothing else (their CPU limit is never the bound)."""
    engine = graderq.Engine(settings=make_settings())
    compiled = engine.run(
        "gcc_compile",
        "gcc -O -o rewrite rewrite.c && cat rewrite",
        files=[probe("rewrite.c")],
        limits=ROOMY,
    )
    assert compiled["exit_code"] == 0 and compiled["stdout"], compiled
    return compiled["stdout"]


def rewrite(
    engine: graderq.Engine,
    binary: bytes,
    block: int,
    every: int,
    limits: dict,
    workdir: WorkingDirectory | None = None,
) -> tuple[float, int, int]:
    """Run the rewrite loop until realtime; its last report: seconds, bytes, writes."""
    result = engine.run(
        "gcc_compile",
        f"exec ./rewrite {block} {64 * MIB} {every}",
        files=[{"name": "rewrite", "content": binary, "executable": True}],
        # The realtime limit ends the loop; it does little but wait for the disk.
        limits={**ROOMY, "realtime": 4, **limits},
        workdir=workdir,
    )
    lines = result["stdout"].decode().split()
    if result["stderr"] or len(lines) < 3 or not result["timeout"]:
        pytest.fail(f"the rewrite loop did not run until killed: {result}")
    seconds, written, writes = lines[-3:]
    return float(seconds), int(written), int(writes)


def test_the_rewrite_loop_moves_at_most_the_default_rate(
    engine: graderq.Engine, rewrite_binary: bytes
) -> None:
    """The default `io_write` is 50 MB/s on the sandbox's own disk."""
    seconds, written, _ = rewrite(engine, rewrite_binary, MIB, 8, {})

    rate = 50 * MIB
    assert written <= rate * seconds + BURST, f"{written / MIB:.0f} MB in {seconds} s"
    assert written >= rate * seconds / 2, "throttled far below the limit"
    assert_still_works(engine)


def test_a_workdirs_disk_is_throttled_to_the_requested_rate(
    engine: graderq.Engine, rewrite_binary: bytes
) -> None:
    with engine.working_directory() as workdir:
        seconds, written, _ = rewrite(engine, rewrite_binary, MIB, 2, {"io_write": 10}, workdir)

    rate = 10 * MIB
    assert written <= rate * seconds + BURST, f"{written / MIB:.0f} MB in {seconds} s"
    assert written >= rate * seconds / 2
    assert_still_works(engine)


def test_operations_are_throttled_to_io_iops(engine: graderq.Engine, rewrite_binary: bytes) -> None:
    """4 KiB writes: bytes are no bound on them, operations are (each fsync is one too)."""
    seconds, _, writes = rewrite(engine, rewrite_binary, 4096, 10, {"io_iops": 100})

    assert writes <= 100 * seconds + 64, f"{writes} writes in {seconds} s"
    assert writes >= 100 * seconds / 2
    assert_still_works(engine)
