"""Docker runtimes per profile (runc, runsc, crun): which the daemon knows, and what
graderq adds or refuses so that no limit silently weakens under one.

gVisor (runsc, Debian 12's 2022-12 release, ptrace platform) differs from runc in three
ways that matter to a sandbox:
- a container without network starts only when runsc itself runs with --network=none
  (runtimeArgs of the daemon's runtime entry): graderq refuses such a profile on a
  runsc runtime registered without it;
- the pids cgroup does not bound the processes inside (500 threads ran under
  processes=64): graderq refuses a processes limit there, so a run asks for
  processes=None knowingly;
- with a read-only root, gVisor mounts its own writable /tmp: graderq mounts /tmp
  itself (a read-only tmpfs), unless the sandbox has a bounded /tmp of its own.
crun needs nothing of graderq (it fails on cgroup v1 hybrid hosts: its own error).
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from graderq.errors import ProfileError
from graderq.sandbox.spec import ContainerSpec

NO_NETWORK = "--network=none"
READ_ONLY_TMP = "ro,nosuid,nodev,noexec,size=4k"


def is_gvisor(name: str, entry: dict[str, Any]) -> bool:
    return PurePath(str(entry.get("path") or name)).name == "runsc"


def known(info: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The daemon's runtimes (docker info's Runtimes): name -> {path, runtimeArgs}."""
    return dict(info.get("Runtimes") or {})


def adapt(body: dict[str, Any], spec: ContainerSpec, runtimes: dict[str, dict[str, Any]]) -> None:
    """Check spec's runtime against the daemon's `runtimes`; adjust `body` for it.

    Raises ProfileError for a runtime the daemon does not know, and for a combination
    under which a limit or an isolation would not hold.
    """
    name = spec.runtime
    if name is None:
        return
    profile = spec.labels.get("graderq.profile", "?")
    if name not in runtimes:
        names = ", ".join(sorted(runtimes)) or "none"
        raise ProfileError(
            f"profile {profile!r}: the Docker daemon has no runtime {name!r} (it has: {names}); "
            "register it (dockerd --add-runtime, or 'runtimes' in daemon.json) or correct the "
            "profile's runtime / GRADERQ_DEFAULT_RUNTIME"
        )
    entry = runtimes[name]
    if not is_gvisor(name, entry):
        return
    args = [str(arg) for arg in entry.get("runtimeArgs") or []]
    if spec.network_disabled and NO_NETWORK not in args:
        raise ProfileError(
            f"profile {profile!r}: runtime {name!r} is gVisor without {NO_NETWORK}; a sandbox "
            f"without network needs it: register runsc with runtimeArgs [{NO_NETWORK!r}]"
        )
    if spec.limits.processes is not None:
        raise ProfileError(
            f"profile {profile!r}: gVisor ({name!r}) does not enforce the processes limit "
            f"({spec.limits.processes}); ask for processes=None to run without one, or use runc"
        )
    host = body["HostConfig"]
    tmpfs = host.setdefault("Tmpfs", {})
    if host.get("ReadonlyRootfs") and "/tmp" not in tmpfs:
        tmpfs["/tmp"] = READ_ONLY_TMP  # else gVisor mounts a writable one of its own
