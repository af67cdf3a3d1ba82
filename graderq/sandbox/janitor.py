"""Find and remove what dead workers left behind, by the labels graderq puts on it.

A sandbox container is abandoned when the process that made it is gone (checked only
for owners on this machine, where their PIDs are visible) or when it is older than
any task may run. A working directory is abandoned when it has expired. Volumes still
in use are left for a later sweep. A disk image whose volume is gone (its maker died
between the two) is detached and deleted, and so is a volume whose disk is gone (its
loop device was lost in a reboot).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from graderq.errors import DockerError
from graderq.sandbox import disks
from graderq.sandbox.docker_api import engine_errors
from graderq.sandbox.docker_backend import DockerBackend
from graderq.sandbox.spec import KIND_SANDBOX, KIND_WORKDIR, LABEL

log = logging.getLogger("graderq.janitor")


@dataclass
class Sweep:
    """What one sweep removed."""

    containers: int = 0
    volumes: int = 0
    disks: int = 0


DISK_GRACE = 60.0
"""Seconds a sandbox's disk may lack its volume (being created) or its container."""


def pid_alive(pid: int) -> bool:
    """Whether process `pid` of this machine still runs (a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def container_abandoned(
    labels: Mapping[str, str],
    now: float,
    max_age: float,
    hostname: str | None = None,
    alive: Callable[[int], bool] = pid_alive,
) -> bool:
    """Whether a sandbox container with `labels` has no live owner."""
    created = _number(labels.get(f"{LABEL}.created"))
    if created is None or now - created > max_age:
        return True
    host, _, pid = labels.get(f"{LABEL}.owner", "").rpartition(":")
    if host == (hostname or socket.gethostname()) and pid.isdigit():
        return not alive(int(pid))
    return False


def workdir_expired(labels: Mapping[str, str], now: float) -> bool:
    expires = _number(labels.get(f"{LABEL}.expires"))
    return expires is None or now >= expires


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def sweep(backend: DockerBackend, max_age: float, now: float | None = None) -> Sweep:
    """Remove abandoned sandbox containers, expired workdirs and dangling sandbox volumes."""
    now = time.time() if now is None else now
    api = backend.api
    done = Sweep()
    with engine_errors("janitor cannot list sandbox containers"):
        containers = api.containers(all=True, filters={"label": f"{LABEL}={KIND_SANDBOX}"})
    for container in containers:
        if container_abandoned(container.get("Labels") or {}, now, max_age):
            backend.destroy(container["Id"])
            done.containers += 1
    with engine_errors("janitor cannot list volumes"):
        volumes = api.volumes(filters={"label": LABEL, "dangling": True}).get("Volumes") or []
    for volume in volumes:
        labels = volume.get("Labels") or {}
        kind = labels.get(LABEL)
        # A sandbox's disk is dangling for a moment before its container is created.
        fresh = now - (_number(labels.get(f"{LABEL}.created")) or 0) < DISK_GRACE
        if (
            (kind == KIND_SANDBOX and not fresh)
            or (kind == KIND_WORKDIR and workdir_expired(labels, now))
            or not backend.disk_intact(volume["Name"], volume.get("Options"))
        ):
            try:
                backend.remove_volume(volume["Name"])
            except DockerError as exc:
                log.debug("volume %s not removed: %s", volume["Name"], exc)
                continue
            done.volumes += 1
    if backend.local:
        with engine_errors("janitor cannot list volumes"):
            names = [volume["Name"] for volume in api.volumes().get("Volumes") or []]
        directory = backend.disk_dir / backend.node_id()
        for image in disks.orphans(directory, names, older_than=now - DISK_GRACE):
            disks.remove(image)
            done.disks += 1
    accounting = backend.accounting
    if accounting is not None:
        with engine_errors("janitor cannot list containers"):
            names = {name.lstrip("/") for c in api.containers(all=True) for name in c["Names"]}
        for name in accounting.leftovers(older_than=now - max_age) - names:
            accounting.release(name)
    if done.containers or done.volumes or done.disks:
        log.info(
            "janitor removed %d containers, %d volumes and %d disks",
            done.containers,
            done.volumes,
            done.disks,
        )
    return done
