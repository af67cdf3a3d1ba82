"""Attacks on the machine's resources: processes, memory, CPU and wall-clock time."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import graderq
from tests.attacks.support import assert_still_works, host_tasks
from tests.integration.support import MIB, Pace

pytestmark = pytest.mark.timeout(60)

FORK_BOMB = "b() { b | b & }; b & exec sleep 30"
"""The shell forks once, before the bomb grows, then becomes `sleep` without forking: were
it to fork later, the full pids cgroup would refuse it and the shell would exit early."""

THREAD_BURN = """
import hashlib, threading
data = bytes(1 << 20)
def burn():
    while True:
        hashlib.sha256(data)  # releases the GIL: the threads really run in parallel
for _ in range(4):
    threading.Thread(target=burn).start()
"""

MEMORY_BOMBS = {
    "one-allocation": "python3 -c 'bytearray(512 << 20)'",
    "creeping": "python3 -c 'a = []\nwhile True: a.append(bytearray(1 << 20))'",
    "many-processes": "for i in 1 2 3 4 5 6 7 8; do "
    "python3 -c 'import time; b = bytearray(16 << 20); time.sleep(2)' & done; wait",
}


@pytest.mark.cgroups
def test_fork_bomb_is_held_by_the_default_processes_cap(engine: graderq.Engine, pace: Pace) -> None:
    """The pids cgroup (64 by default) refuses forks; the host's task count barely moves."""
    baseline = peak = host_tasks()
    # The realtime limit ends the bomb: CPU enough that the sum of its processes' never
    # does first, however slowly the host forks.
    limits = {"realtime": 3, "cputime": 30}
    with ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        running = pool.submit(engine.run, "python", FORK_BOMB, limits=limits)
        while not running.done():  # bounded: the run ends at its realtime limit
            peak = max(peak, host_tasks())
            time.sleep(0.005)
        result = running.result()
    elapsed = time.monotonic() - started

    assert b"Cannot fork" in result["stderr"], "the bomb never hit the processes cap"
    assert result["timeout"] is True
    assert elapsed < 3 + 2 * pace.run_wall + 2, "the sandbox outlived its realtime limit"
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    # 64 sandbox processes plus runc's; the margin absorbs other work on the machine.
    assert peak - baseline < 500, f"host tasks rose from {baseline} to {peak}"
    assert peak < pid_max // 2
    assert_still_works(engine)


@pytest.mark.cgroups
@pytest.mark.parametrize("command", MEMORY_BOMBS.values(), ids=MEMORY_BOMBS.keys())
def test_memory_bomb_is_oom_killed(engine: graderq.Engine, command: str) -> None:
    """Memory, not time, ends each bomb. Eight processes that thrash a 32 MB cgroup on a
    cold page cache fault their libraries back in again and again and may spend over a
    second of CPU doing it, so the time limits here sit well above what memory needs."""
    result = engine.run("python", command, limits={"memory": 32, "cputime": 10, "realtime": 10})

    assert result["oom_killed"] is True
    assert result["timeout"] is False
    if result["memory_peak"] is not None:
        assert result["memory_peak"] <= 33 * MIB
    assert_still_works(engine)


@pytest.mark.cgroups
def test_cpu_burn_in_four_threads_is_killed_after_one_cpu_second(
    engine: graderq.Engine, pace: Pace
) -> None:
    """RLIMIT_CPU counts the CPU of every thread of the process: four busy threads reach
    one CPU second in well under a second of wall-clock on two free cores."""
    result = engine.run(
        "python",
        "python3 burn.py",
        files=[{"name": "burn.py", "content": THREAD_BURN}],
        limits={"cputime": 1, "realtime": 5},
    )

    assert result["timeout"] is True
    assert result["exit_code"] in (137, 152), "killed by RLIMIT_CPU, not at the realtime limit"
    assert result["duration"] < min(pace.wall(1.0), 5), "before the 5 s realtime limit"
    if result["cpu_time"] is not None:
        assert 0.7 < result["cpu_time"] < pace.cpu(1.0)
    assert_still_works(engine)


@pytest.mark.cgroups
def test_cpu_burn_in_many_processes_shares_one_cputime(engine: graderq.Engine, pace: Pace) -> None:
    """RLIMIT_CPU is per process; graderq also watches the sandbox's cgroup, so four
    burning processes share one CPU second in all instead of getting one each."""
    burn = "for i in 1 2 3 4; do python3 -c 'while True: pass' & done; wait; sleep 30"
    result = engine.run("python", burn, limits={"cputime": 1, "realtime": 8})

    assert result["timeout"] is True
    assert result["exit_code"] is not None, "killed for CPU time, not at the realtime limit"
    assert result["duration"] < min(pace.wall(1.0), 8)
    assert 0.9 <= result["cpu_time"] <= pace.cpu(1.0)
    assert_still_works(engine)


@pytest.mark.parametrize(
    "command",
    [
        "sleep 100",
        "trap '' TERM INT HUP; sleep 100",
        "exec >&- 2>&- </dev/null; sleep 100",
    ],
    ids=["sleep", "ignores-signals", "closes-its-output"],
)
def test_sleeping_past_realtime_is_killed(engine: graderq.Engine, command: str) -> None:
    started = time.monotonic()
    result = engine.run("python", command, limits={"realtime": 1})
    elapsed = time.monotonic() - started

    assert result["timeout"] is True
    assert result["exit_code"] is None
    assert elapsed < 4
    assert_still_works(engine)


def test_background_processes_die_with_the_main_command(engine: graderq.Engine) -> None:
    """Children left running (plain, setsid'd, nohup'd, deaf to signals) neither delay the
    result nor outlive the sandbox: none of them writes its mark into the workdir later."""
    leave_behind = (
        "sleep 1000 & "
        "(sleep 1; touch mark-plain) & "
        "setsid sh -c 'trap \"\" TERM HUP; sleep 1; touch mark-setsid' & "
        "nohup sh -c 'sleep 1; touch mark-nohup' >/dev/null 2>&1 & "
        "echo started"
    )
    with engine.working_directory() as workdir:
        started = time.monotonic()
        result = engine.run("python", leave_behind, limits={"realtime": 10}, workdir=workdir)
        elapsed = time.monotonic() - started
        time.sleep(2)  # a survivor would have written its mark by now
        later = engine.run("python", "ls -A", workdir=workdir)

    assert (result["exit_code"], result["stdout"], result["timeout"]) == (0, b"started\n", False)
    assert elapsed < 3, "the run waited for its background children"
    assert later["stdout"] == b"", f"a background process outlived its sandbox: {later}"
    assert_still_works(engine)
