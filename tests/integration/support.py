"""Constants and helpers shared by the integration tests (fixtures are in conftest)."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from graderq.limits import Ceilings, Limits
from graderq.sandbox import disks
from graderq.settings import Settings, get_settings

REPO = Path(__file__).resolve().parents[2]
SHIPPED_PROFILES = REPO / "configs" / "profiles.toml"
OWN_IMAGES = {"python": "graderq/python:3.11", "gcc": "graderq/gcc:12"}
"""graderq's own images of the profiles the tests use most, whose /sandbox is 0777."""
STOCK_KIND = os.environ.get("GRADERQ_TEST_STOCK_IMAGES") or None
"""A kind of stock-like image (tests/integration/stock.py: no-sandbox, root-sandbox):
when set, the shipped profiles and the tests' own run on images of that kind instead
of graderq's own, so that a whole suite (compat, attacks) proves them too."""


def stock_image(language: str, kind: str) -> str:
    """A stock-like image of graderq's image for `language` (stock.py builds it)."""
    return f"graderq-test/{language}-{kind}:1"


def _profiles_file() -> Path:
    """The shipped profiles, on stock-like images when STOCK_KIND says so."""
    if STOCK_KIND is None:
        return SHIPPED_PROFILES
    text = SHIPPED_PROFILES.read_text()
    for language, image in OWN_IMAGES.items():
        text = text.replace(f'"{image}"', f'"{stock_image(language, STOCK_KIND)}"')
    path = Path(tempfile.gettempdir()) / f"graderq-test-profiles-{STOCK_KIND}.toml"
    path.write_text(text)
    return path


PROFILES_FILE = _profiles_file()
PYTHON_IMAGE, GCC_IMAGE = (
    stock_image(language, STOCK_KIND) if STOCK_KIND else image
    for language, image in OWN_IMAGES.items()
)
MISSING_IMAGE = "graderq/no-such-image:0"
OWNER = f"{socket.gethostname()}:{os.getpid()}"
"""The `graderq.owner` label of every object graderq makes in this test process."""
MIB = 1024 * 1024
CALIBRATION_LIMITS = {"cputime": 30, "realtime": 60}
"""Room for a calibration run however slow the host: its CPU is what it measures."""


@dataclass(frozen=True)
class Pace:
    """How fast this host runs a sandbox, measured on it (the `pace` fixture): an upper
    bound on a run's time is the work it does plus what starting it costs here. On a
    host a Python start costs about 0.03 s of CPU; under the cgroup-v2 VM's software
    emulation (workers/vm) about 0.8 s, runc's set-up in the container included."""

    python_cpu: float
    """cpu_time of `python3 -c pass` in the python profile."""
    python_wall: float
    """Its duration."""
    true_cpu: float
    """cpu_time of `true`: runc's set-up inside the container, and a shell."""
    run_wall: float
    """Wall-clock seconds of the whole engine.run of `python3 -c pass` (create to remove)."""

    def cpu(self, work: float) -> float:
        """An upper bound on the cpu_time of a Python run that burns `work` CPU-seconds."""
        return 1.5 * work + 0.3 + 2 * self.python_cpu

    def wall(self, work: float) -> float:
        """An upper bound on the duration of a Python run that takes `work` seconds."""
        return 1.5 * work + 0.5 + 2 * self.python_wall

    def summary(self) -> str:
        return (
            f"host pace: python3 -c pass costs {self.python_cpu:.3f} s of CPU and "
            f"{self.python_wall:.3f} s in a sandbox ({self.run_wall:.3f} s the whole run); "
            f"true costs {self.true_cpu:.3f} s of CPU"
        )


def measure_pace(engine: Any) -> Pace:
    """The median of three runs of each calibration command on `engine`."""
    pythons, trues, walls = [], [], []
    for _ in range(3):
        started = time.monotonic()
        python = engine.run("python", "python3 -c pass", limits=CALIBRATION_LIMITS)
        walls.append(time.monotonic() - started)
        pythons.append(python)
        trues.append(engine.run("python", "true", limits=CALIBRATION_LIMITS))
    for result in (*pythons, *trues):
        if result["exit_code"] != 0 or result["cpu_time"] is None:
            pytest.fail(f"a calibration run failed: {result}", pytrace=False)
    return Pace(
        python_cpu=statistics.median(r["cpu_time"] for r in pythons),
        python_wall=statistics.median(r["duration"] for r in pythons),
        true_cpu=statistics.median(r["cpu_time"] for r in trues),
        run_wall=statistics.median(walls),
    )


RESULT_KEYS = {
    "exit_code",
    "stdout",
    "stderr",
    "duration",
    "timeout",
    "oom_killed",
    "output_truncated",
    "cpu_time",
    "memory_peak",
}

EXTRA_PROFILES: dict[str, dict[str, Any]] = {
    "root": {"docker_image": PYTHON_IMAGE, "user": "root"},
    "networked": {"docker_image": PYTHON_IMAGE, "user": "sandbox", "network_disabled": False},
    "missing_image": {"docker_image": MISSING_IMAGE, "user": "sandbox"},
}
"""Profiles beyond the shipped ones, for the tests that need them."""


def pooled_uid(value: bytes | str) -> int:
    """A sandbox's `id -u`, checked to be a host UID of the machine's pool (identities.py):
    above GRADERQ_SANDBOX_UID_BASE, at most GRADERQ_SANDBOX_UID_SLOTS above it."""
    uid = int(value)
    base, slots = get_settings().sandbox_uid_base, get_settings().sandbox_uid_slots
    assert base < uid <= base + slots, (
        f"uid {uid} is not one of the pool's {base + 1}-{base + slots}"
    )
    return uid


def pool_gid() -> int:
    """The one GID every sandbox has: the pool's group."""
    return get_settings().sandbox_uid_base


def make_settings(**overrides: Any) -> Settings:
    """Settings with the shipped profiles and graderq's documented default limits,
    whatever the environment says."""
    values: dict[str, Any] = {
        "profiles_file": PROFILES_FILE,
        "docker_timeout": 20,
        "default_limits": Limits(),
        "limit_ceilings": Ceilings(),
    }
    return Settings(**(values | overrides))


def _ours(labels: dict[str, str]) -> bool:
    """Whether an object labelled `graderq` may be this process's: other processes on the
    same engine (benchmarks, workers) label theirs with their own owner."""
    if labels.get("graderq") == "node":  # the daemon's identity volume, kept by design
        return False
    owner = labels.get("graderq.owner")
    return owner is None or owner == OWNER


def disk_objects() -> dict[str, dict[str, str]]:
    """Sandbox disk images, and loop devices on them: "disk path" / "loop device"."""
    found: dict[str, dict[str, str]] = {
        f"disk {image}": {} for image in get_settings().disk_dir.glob("*/*.img")
    }
    for entry in Path("/sys/block").glob("loop*"):
        backing = disks.path_of(f"/dev/{entry.name}")
        if backing and backing.startswith(f"{get_settings().disk_dir}/"):
            found[f"loop /dev/{entry.name}"] = {"backing": backing}
    return found


def graderq_objects(client: docker.DockerClient) -> dict[str, dict[str, str]]:
    """This process's containers and volumes labelled `graderq`, and every sandbox disk:
    "kind id" -> labels."""
    found = disk_objects()
    containers = client.containers.list(all=True, sparse=True, filters={"label": "graderq"})
    for container in containers:
        labels = container.attrs.get("Labels") or {}
        if _ours(labels):
            found[f"container {container.id}"] = labels
    for volume in client.volumes.list(filters={"label": "graderq"}):
        labels = volume.attrs.get("Labels") or {}
        if _ours(labels):
            found[f"volume {volume.name}"] = labels
    return found


def remove_object(client: docker.DockerClient, key: str) -> None:
    """Remove an object named as graderq_objects names it; gone is fine."""
    kind, _, ident = key.partition(" ")
    try:
        if kind == "disk":
            disks.remove(Path(ident))
        elif kind == "loop":
            disks.detach(ident)
        elif kind == "container":
            client.api.remove_container(ident, v=True, force=True)
        else:
            client.api.remove_volume(ident, force=True)
    except docker.errors.NotFound:
        pass


def our_containers(client: docker.DockerClient) -> set[str]:
    """IDs of the graderq containers of this process that exist now."""
    containers = client.containers.list(
        all=True, sparse=True, filters={"label": f"graderq.owner={OWNER}"}
    )
    return {container.id for container in containers}


def volume_exists(client: docker.DockerClient, name: str) -> bool:
    try:
        client.volumes.get(name)
    except docker.errors.NotFound:
        return False
    return True


GRADERQ_COMMAND = Path(sys.executable).parent / "graderq"
"""The console script installed beside this Python."""


def run_graderq(*args: str, timeout: float, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the installed `graderq` command with `env` over this process's environment."""
    if not GRADERQ_COMMAND.exists():
        pytest.fail(f"{GRADERQ_COMMAND} is missing: run `.venv/bin/pip install -e '.[dev]'`")
    return subprocess.run(
        [str(GRADERQ_COMMAND), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ | env,
        stdin=subprocess.DEVNULL,
    )


def fill(folder: Path, leave_mb: int) -> None:
    """Fill the file system of `folder` until `leave_mb` megabytes are left."""
    free = disks.free_bytes(folder) // disks.MIB
    with (folder / "filler").open("wb") as file:
        os.posix_fallocate(file.fileno(), 0, (free - leave_mb) * disks.MIB)
