"""cpu_time and memory_peak are measured by the kernel, per run."""

from __future__ import annotations

import pytest

import graderq
from tests.integration.support import Pace

pytestmark = pytest.mark.cgroups

BURN = (
    "python3 -c 'import time\nend = time.process_time() + {0}\n"
    "while time.process_time() < end: pass'"
)
ALLOCATE = "python3 -c 'x = bytearray({0} * 1024 * 1024); x[::4096] = b\"1\" * len(x[::4096])'"


ROOMY = {"cputime": 10}
"""CPU enough for each run here on any host: what these tests check is the measurement."""


def test_cpu_time_counts_the_cpu_the_sandbox_used(engine: graderq.Engine, pace: Pace) -> None:
    busy = engine.run("python", BURN.format(0.5), limits=ROOMY)
    idle = engine.run("python", "sleep 0.5", limits=ROOMY)
    # runc's set-up in the container and the start of `sleep` are the sandbox's too:
    # milliseconds on a host, most of a second under the VM's emulation, so a sleep is
    # measured against a sleep that does not wait.
    start = engine.run("python", "sleep 0", limits=ROOMY)
    assert 0.45 <= busy["cpu_time"] <= pace.cpu(0.5), busy
    assert idle["cpu_time"] - start["cpu_time"] < 0.1 + pace.true_cpu, (idle, start)
    assert idle["duration"] >= 0.5


def test_cpu_time_counts_every_process_of_the_sandbox(engine: graderq.Engine) -> None:
    two = engine.run("python", f"{BURN.format(0.4)} & {BURN.format(0.4)}; wait", limits=ROOMY)
    assert two["cpu_time"] >= 0.75, two


def test_memory_peak_is_the_high_water_mark(engine: graderq.Engine) -> None:
    small = engine.run("python", ALLOCATE.format(5), limits={"memory": 128, **ROOMY})
    large = engine.run("python", ALLOCATE.format(60), limits={"memory": 128, **ROOMY})
    assert large["memory_peak"] >= 60 * 1024 * 1024, large
    assert small["memory_peak"] < large["memory_peak"] - 40 * 1024 * 1024


def test_each_start_of_one_sandbox_is_measured_on_its_own(
    engine: graderq.Engine, pace: Pace
) -> None:
    with engine.create("python", BURN.format(0.3), limits=ROOMY) as sandbox:
        first = engine.start(sandbox)
        second = engine.start(sandbox)
    assert 0.25 <= first["cpu_time"] <= pace.cpu(0.3)
    assert 0.25 <= second["cpu_time"] <= pace.cpu(0.3)  # not the sum of both


def test_figures_survive_a_timeout_and_an_oom_kill(engine: graderq.Engine, pace: Pace) -> None:
    burned = engine.run("python", BURN.format(5), limits={"cputime": 1, "realtime": 10})
    # Killed at RLIMIT_CPU's 1 s (plus runc's few ms of set-up, counted too).
    assert burned["timeout"] and 0.7 <= burned["cpu_time"] <= pace.cpu(1.0), burned
    oom = engine.run("python", ALLOCATE.format(100), limits={"memory": 32, **ROOMY})
    assert oom["oom_killed"] and oom["memory_peak"] >= 30 * 1024 * 1024, oom


def test_a_run_that_ends_before_start_returns_is_still_counted(engine: graderq.Engine) -> None:
    """Counting starts before the container does: a fast program's CPU time is its own."""
    result = engine.run("python", "python3 -c pass", limits=ROOMY)
    assert result["cpu_time"] > 0.005 and result["memory_peak"] > 1024 * 1024, result
