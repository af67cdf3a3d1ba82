"""Profiles, probes and the checks that every attack test ends with."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import docker
import pytest

import graderq
from graderq.limits import Limits
from graderq.profiles import Profile, build_profiles, load_profiles
from tests.integration.support import EXTRA_PROFILES, GCC_IMAGE, PROFILES_FILE, make_settings

PROBES = Path(__file__).resolve().parent / "probes"

ATTACK_PROFILES: dict[str, dict[str, Any]] = {
    **EXTRA_PROFILES,
    "gcc_root": {"docker_image": GCC_IMAGE, "user": "root"},
    "gcc_root_networked": {"docker_image": GCC_IMAGE, "user": "root", "network_disabled": False},
}
"""Beyond the shipped profiles: root, networked, and a root C toolchain with and without
a network, so that privileged calls are tried with every identity a profile may have."""


def attack_profiles() -> list[Profile]:
    """The shipped profiles (configs/profiles.toml) and ATTACK_PROFILES."""
    table = load_profiles(PROFILES_FILE) | build_profiles(ATTACK_PROFILES)
    return list(table.values())


def probe(name: str) -> dict[str, bytes | str]:
    """A probe program from tests/attacks/probes as a sandbox file of the same name."""
    return {"name": name, "content": (PROBES / name).read_bytes()}


def fields(stdout: bytes) -> dict[str, str]:
    """ "key value" lines of a probe's output as a dict (the value is the rest of the line)."""
    pairs = (line.partition(" ") for line in stdout.decode().splitlines())
    return {key: value for key, _, value in pairs if key}


def assert_still_works(engine: graderq.Engine) -> None:
    """After an attack, an ordinary run on the same engine still succeeds."""
    # Time enough on any host: under the VM's emulation, runc's set-up and a shell alone
    # may take over the default second of CPU once an attack has cooled the caches.
    result = engine.run("python", "echo ok", limits={"realtime": 20, "cputime": 10})
    if (result["exit_code"], result["stdout"], result["timeout"]) != (0, b"ok\n", False):
        # pytest.fail, not assert: an xfail(raises=AssertionError) must not swallow this.
        pytest.fail(f"the engine no longer runs a plain command after the attack: {result}")


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


def reset_peak_rss() -> int:
    """Reset this process's peak RSS (VmHWM) to its current RSS; return that, in bytes."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kib("VmRSS") * 1024


def peak_rss() -> int:
    """This process's peak RSS (VmHWM) since the last reset, in bytes."""
    return _status_kib("VmHWM") * 1024


def host_tasks() -> int:
    """Processes and threads on the host now (the fourth field of /proc/loadavg)."""
    return int(Path("/proc/loadavg").read_text().split()[3].partition("/")[2])


def plain_engine() -> graderq.Engine:
    """The attack profiles with no `disk` limit by default: a workdir is a plain volume,
    whose files the test process can reach on the host (volume_folder)."""
    settings = make_settings(default_limits=Limits(disk=None))
    return graderq.Engine(profiles=attack_profiles(), settings=settings)


def volume_folder(volume: str) -> Path:
    """The host folder of a plain volume (a workdir of disk None), for a test to read or
    write what a sandbox of another identity could not reach itself."""
    with docker.APIClient() as api:
        return Path(api.inspect_volume(volume)["Mountpoint"])


def wait_for_file(path: Path, timeout: float) -> None:
    """Poll until `path` exists, failing the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"{path} did not appear within {timeout} s")
        time.sleep(0.05)
