"""Every limit, enforced by the real engine: cputime, realtime, memory, processes,
file_size and output."""

from __future__ import annotations

import os
import time

import docker
import pytest

import graderq
from tests.integration.support import MIB, Pace, make_settings, our_containers

pytestmark = pytest.mark.timeout(60)

BUSY_LOOP = "python3 -c 'while True: pass'"

SPAWN_100 = """
import subprocess
children = []
for _ in range(100):
    try:
        children.append(subprocess.Popen(["sleep", "30"]))
    except OSError:
        break
print(len(children))
"""

FORK_BOMB_WATCH = """
import subprocess, time
from pathlib import Path

def cgroup_file(name):
    for base in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup"):
        path = Path(base, name)
        if path.exists():
            return path
    raise SystemExit(f"no {name} in the sandbox")

current, events = cgroup_file("pids.current"), cgroup_file("pids.events")
subprocess.Popen(["sh", "-c", "b() { b | b & }; b"], stderr=subprocess.DEVNULL)
peak, refused = 0, 0
deadline = time.monotonic() + 20.0  # ends at the first refusal: milliseconds on a host
while time.monotonic() < deadline and refused == 0:
    peak = max(peak, int(current.read_text()))
    refused = int(events.read_text().split()[1])
deadline = time.monotonic() + 0.3
while time.monotonic() < deadline:
    peak = max(peak, int(current.read_text()))
limit = cgroup_file("pids.max").read_text().strip()
print(peak, int(events.read_text().split()[1]), limit, flush=True)
"""

FILE_WRITER = """
import errno, os, sys
size = int(sys.argv[1])
try:
    with open("out.bin", "wb") as f:
        f.write(b"x" * size)
    print("written", os.path.getsize("out.bin"))
except OSError as exc:
    print(errno.errorcode[exc.errno], os.path.getsize("out.bin"))
"""


def spawn_count(engine: graderq.Engine, limits: dict[str, object]) -> int:
    result = engine.run(
        "python",
        "python3 spawn.py",
        files=[{"name": "spawn.py", "content": SPAWN_100}],
        # CPU enough for 64 forks on any host (2-3 s under the VM's emulation): the cap
        # under test is the pids cgroup's.
        limits={"cputime": 30, **limits},
    )
    assert result["exit_code"] == 0, result["stderr"]
    return int(result["stdout"])


# --- cputime -----------------------------------------------------------------------------


@pytest.mark.cgroups
@pytest.mark.parametrize("command", [BUSY_LOOP, "while :; do :; done"], ids=["python", "shell"])
def test_cputime_exceeded_is_a_timeout_with_an_exit_code(
    engine: graderq.Engine, pace: Pace, command: str
) -> None:
    result = engine.run("python", command, limits={"cputime": 1, "realtime": 10})

    assert result["timeout"] is True
    # An exit code: killed for its CPU time (a realtime kill has none).
    assert result["exit_code"] is not None
    assert result["exit_code"] != 0
    assert result["oom_killed"] is False
    # The sandbox's CPU budget counts runc's set-up in the container (pace.true_cpu:
    # most of a second under emulation), so the loop itself may get less than 1 s.
    assert 0.8 - pace.true_cpu <= result["duration"] < min(pace.wall(1.0), 10)


def test_cputime_is_cpu_not_wall_time(engine: graderq.Engine) -> None:
    result = engine.run("python", "sleep 1.5; echo slept", limits={"cputime": 1, "realtime": 5})

    assert result["exit_code"] == 0
    assert result["timeout"] is False
    assert result["stdout"] == b"slept\n"


# --- realtime ----------------------------------------------------------------------------


@pytest.mark.timeout(20)
def test_realtime_kills_the_container_and_keeps_earlier_output(
    engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    started = time.monotonic()
    result = engine.run(
        "python", "echo before; echo warned >&2; sleep 30; echo after", limits={"realtime": 1}
    )
    elapsed = time.monotonic() - started

    assert result["timeout"] is True
    assert result["exit_code"] is None
    assert result["stdout"] == b"before\n"
    assert result["stderr"] == b"warned\n"
    assert result["oom_killed"] is False
    assert result["output_truncated"] is False
    assert 0.9 <= elapsed < 6
    assert 0.9 <= result["duration"] < 6
    assert not our_containers(docker_client)


@pytest.mark.timeout(30)
def test_realtime_defaults_to_five_times_cputime(engine: graderq.Engine) -> None:
    started = time.monotonic()
    result = engine.run("python", "echo started; sleep 10", limits={"cputime": 1})
    elapsed = time.monotonic() - started

    assert result["timeout"] is True
    assert result["exit_code"] is None
    assert result["stdout"] == b"started\n"
    assert 4.8 <= elapsed < 9.5, "realtime should be 5 x cputime = 5 s"
    assert 4.8 <= result["duration"] < 9.5


@pytest.mark.timeout(20)
def test_realtime_none_lets_a_program_outlive_five_times_cputime(engine: graderq.Engine) -> None:
    result = engine.run("python", "sleep 1.2; echo done", limits={"cputime": 0.2, "realtime": None})

    assert result["timeout"] is False
    assert result["stdout"] == b"done\n"


# --- memory ------------------------------------------------------------------------------


@pytest.mark.cgroups
def test_memory_exceeded_is_oom_killed_not_timeout(engine: graderq.Engine) -> None:
    result = engine.run(
        "python",
        "python3 -c 'x = bytearray(200 * 1024 * 1024); print(len(x))'",
        limits={"memory": 32, "cputime": 10},  # memory, not CPU, must end it on any host
    )

    assert result["oom_killed"] is True
    assert result["timeout"] is False
    assert result["stdout"] == b""
    assert result["exit_code"] not in (None, 0)


@pytest.mark.cgroups
def test_memory_within_the_limit_is_fine(engine: graderq.Engine) -> None:
    result = engine.run(
        "python",
        "python3 -c 'x = bytearray(16 * 1024 * 1024); print(len(x))'",
        limits={"memory": 64, "cputime": 10},
    )

    assert result["exit_code"] == 0
    assert result["stdout"] == b"16777216\n"
    assert result["oom_killed"] is False


def test_memory_limit_covers_swap(
    engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    with engine.create("python", "true", limits={"memory": 48}) as sandbox:
        host = docker_client.api.inspect_container(sandbox.container)["HostConfig"]

    assert host["Memory"] == 48 * MIB
    assert host["MemorySwap"] == 48 * MIB


# --- processes ---------------------------------------------------------------------------


@pytest.mark.cgroups
@pytest.mark.parametrize(
    ("limits", "cap"), [({}, 64), ({"processes": 10}, 10)], ids=["default-64", "ten"]
)
def test_processes_limit_caps_background_children(
    engine: graderq.Engine, limits: dict[str, object], cap: int
) -> None:
    started = spawn_count(engine, limits)

    assert cap // 2 < started < cap


@pytest.mark.parametrize("unlimited", [None, -1])
def test_processes_none_or_minus_one_is_unlimited(
    engine: graderq.Engine, docker_client: docker.DockerClient, unlimited: int | None
) -> None:
    assert spawn_count(engine, {"processes": unlimited}) == 100
    with engine.create("python", "true", limits={"processes": unlimited}) as sandbox:
        host = docker_client.api.inspect_container(sandbox.container)["HostConfig"]
    assert host["PidsLimit"] in (None, 0, -1)


@pytest.mark.cgroups
@pytest.mark.timeout(90)
def test_default_processes_limit_caps_a_fork_bomb(
    engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    result = engine.run(
        "python",
        "python3 watch.py",
        files=[{"name": "watch.py", "content": FORK_BOMB_WATCH}],
        # Room for the bomb to reach the cap on any host: cputime bounds the sandbox's sum.
        limits={"cputime": 60, "realtime": 30},
    )

    assert result["exit_code"] == 0, result
    peak, refused, limit = result["stdout"].split()
    assert limit == b"64"  # the cap in force is the default
    assert int(refused) > 0, f"the bomb never reached the pids limit (peak {peak})"
    # Sampled, so it may miss the moment of the cap. A fork charges pids.current before
    # it checks pids.max and takes the charge back when refused (kernel/cgroup/pids.c,
    # pids_try_charge), so a sample may see one refused fork per CPU in flight.
    assert 0 < int(peak) <= 64 + (os.cpu_count() or 1), peak
    assert not our_containers(docker_client)


# --- file_size ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"),
    [(5000, b"EFBIG 1000\n"), (800, b"written 800\n")],
    ids=["over", "under"],
)
def test_file_size_limit(engine: graderq.Engine, size: int, expected: bytes) -> None:
    result = engine.run(
        "python",
        f"python3 write.py {size}",
        files=[{"name": "write.py", "content": FILE_WRITER}],
        limits={"file_size": 1000},
    )

    assert result["stdout"] == expected


def test_file_size_limit_stops_a_shell_redirection(engine: graderq.Engine) -> None:
    result = engine.run(
        "gcc_compile",
        "head -c 5000 /dev/zero > big; echo $?; wc -c < big",
        limits={"file_size": 1000},
    )

    status, size = result["stdout"].split()
    assert status != b"0"
    assert int(size) == 1000


# --- output ------------------------------------------------------------------------------


@pytest.mark.timeout(20)
@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_output_over_the_cap_is_truncated_and_the_sandbox_killed(
    engine: graderq.Engine, docker_client: docker.DockerClient, stream: str
) -> None:
    redirect = "" if stream == "stdout" else " >&2"
    started = time.monotonic()
    result = engine.run(
        "python",
        f"head -c 100000 /dev/zero{redirect}; sleep 30",
        limits={"output": 1000, "realtime": 10},
    )
    elapsed = time.monotonic() - started

    assert result["output_truncated"] is True
    assert result[stream] == b"\0" * 1000
    assert result["exit_code"] is None
    assert result["timeout"] is False
    assert elapsed < 6, "killed at the cap, not at the realtime limit"
    assert not our_containers(docker_client)


def test_output_cap_is_per_stream(engine: graderq.Engine) -> None:
    result = engine.run(
        "python", "head -c 900 /dev/zero >&2; head -c 5000 /dev/zero", limits={"output": 1000}
    )

    assert result["stderr"] == b"\0" * 900
    assert result["stdout"] == b"\0" * 1000
    assert result["output_truncated"] is True


def test_output_exactly_at_the_cap_is_not_truncated(engine: graderq.Engine) -> None:
    result = engine.run(
        "python", "head -c 1000 /dev/zero; head -c 1000 /dev/zero >&2", limits={"output": 1000}
    )

    assert result["output_truncated"] is False
    assert result["exit_code"] == 0
    assert len(result["stdout"]) == len(result["stderr"]) == 1000


def test_default_output_cap_is_8_mib(engine: graderq.Engine) -> None:
    result = engine.run("python", "head -c 9000000 /dev/zero")

    assert len(result["stdout"]) == 8 * MIB
    assert result["output_truncated"] is True
    assert result["exit_code"] is None


# --- a sandbox that floods its output ------------------------------------------------------
# While a sandbox floods, output is pending when graderq kills it, and the daemon stops a
# container only once its pending output is read: a kill that nobody drains hangs until
# the API timeout (10 tries of 10 here). graderq kills from another thread while it
# drains, so no order of kill and drain can hang, and the result says what graderq saw
# whatever the timing: output over its cap always means no exit code (to_result). Each
# test repeats its run, so that a pass is no accident.


def flood_engine() -> graderq.Engine:
    """A short Docker API timeout, so that a hung kill fails in seconds, not in a minute."""
    return graderq.Engine(settings=make_settings(docker_timeout=5))


@pytest.mark.timeout(60)
def test_endless_output_is_cut_at_the_cap(docker_client: docker.DockerClient) -> None:
    engine = flood_engine()
    for _ in range(5):
        started = time.monotonic()
        result = engine.run("python", "yes", limits={"output": 1000, "realtime": 10})

        assert time.monotonic() - started < 5
        assert result["stdout"] == b"y\n" * 500
        assert result["output_truncated"] is True
        assert result["exit_code"] is None
        assert result["timeout"] is False
    assert not our_containers(docker_client)


@pytest.mark.timeout(60)
def test_output_flood_at_the_realtime_limit_is_a_timeout(
    docker_client: docker.DockerClient,
) -> None:
    engine = flood_engine()
    for _ in range(3):
        started = time.monotonic()
        result = engine.run(
            "python", "echo start; sleep 0.8; yes", limits={"realtime": 1, "output": 256 * MIB}
        )

        assert time.monotonic() - started < 6
        assert result["timeout"] is True
        assert result["exit_code"] is None
        assert result["stdout"].startswith(b"start\ny\ny\n")
    assert not our_containers(docker_client)
