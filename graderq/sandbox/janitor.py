"""Find and remove what dead workers left behind: one sweep per kind of leftover.

Each sweep lists one kind through the Backend seam, decides from that data alone (the
decisions are pure functions, tested with FakeBackend), then removes what it chose:

- sandbox containers with no live owner: its process is gone (checked only for owners
  on this machine, where their PIDs are visible), or it is older than any task may run;
- unused volumes: a sandbox's disk past DISK_GRACE, an expired working directory, or a
  disk whose loop device no longer holds its image (lost in a reboot); a volume still
  in use is left for a later sweep;
- disk images whose volume is gone (their maker died between the two): detached and
  deleted;
- accounting cgroups older than any task whose container is gone;
- sandbox networks whose container is gone, spared for NETWORK_GRACE (a network is made
  just before its container).

check_room warns when the disk dir lacks room for the disks the node may still make.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from graderq.errors import DockerError
from graderq.sandbox import disks
from graderq.sandbox.backend import Backend, Cgroup, Container, DiskImage, Network, Volume
from graderq.sandbox.spec import KIND_SANDBOX, KIND_WORKDIR, LABEL, WORKDIR_EXPIRES
from graderq.settings import Settings

if TYPE_CHECKING:
    from graderq.sandbox.docker_backend import DockerBackend

log = logging.getLogger("graderq.janitor")


@dataclass
class Sweep:
    """What one sweep removed."""

    containers: int = 0
    volumes: int = 0
    disks: int = 0
    networks: int = 0


WORKDIR_SWEEP = 30.0
"""Most seconds between two sweeps for expired workdirs (one Docker call each)."""
DISK_GRACE = 60.0
"""Seconds a sandbox's disk may lack its volume (being created) or its container."""
NETWORK_GRACE = 60.0
"""Seconds a sandbox's network may lack its container (being created)."""


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
    expires = _number(labels.get(WORKDIR_EXPIRES))
    return expires is None or now >= expires


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def abandoned_containers(
    containers: Iterable[Container],
    now: float,
    max_age: float,
    hostname: str | None = None,
    alive: Callable[[int], bool] = pid_alive,
) -> list[Container]:
    """The sandbox containers that have no live owner (see container_abandoned)."""
    return [c for c in containers if container_abandoned(c.labels, now, max_age, hostname, alive)]


def volume_unwanted(volume: Volume, now: float, lead: float = 0) -> bool:
    """Whether an unused volume is abandoned: a sandbox's disk, a lost one, or a workdir
    that expires within `lead` seconds (the time to the next sweep)."""
    kind = volume.labels.get(LABEL)
    # A sandbox's disk is unused for a moment before its container is created.
    created = _number(volume.labels.get(f"{LABEL}.created")) or 0
    return (
        (kind == KIND_SANDBOX and now - created >= DISK_GRACE)
        or (kind == KIND_WORKDIR and workdir_expired(volume.labels, now + lead))
        or not volume.intact
    )


def unwanted_volumes(volumes: Iterable[Volume], now: float, lead: float = 0) -> list[Volume]:
    """The unused volumes to remove (see volume_unwanted)."""
    return [volume for volume in volumes if volume_unwanted(volume, now, lead)]


def orphan_images(images: Iterable[DiskImage], volumes: set[str], now: float) -> list[DiskImage]:
    """Images whose volume is gone, spared for DISK_GRACE (the volume may be coming)."""
    return [i for i in images if i.volume not in volumes and i.changed < now - DISK_GRACE]


def stale_cgroups(
    cgroups: Iterable[Cgroup], containers: set[str], now: float, max_age: float
) -> list[Cgroup]:
    """Cgroups older than any task whose container is gone."""
    return [c for c in cgroups if c.made < now - max_age and c.name not in containers]


def orphan_networks(networks: Iterable[Network], containers: set[str], now: float) -> list[Network]:
    """Sandbox networks whose container is gone, spared for NETWORK_GRACE."""
    return [
        network
        for network in networks
        if network.labels.get(f"{LABEL}.container") not in containers
        and (_number(network.labels.get(f"{LABEL}.created")) or 0) < now - NETWORK_GRACE
    ]


def sweep_containers(backend: Backend, now: float, max_age: float) -> int:
    doomed = abandoned_containers(backend.sandbox_containers(), now, max_age)
    for container in doomed:
        backend.destroy(container.id)
    return len(doomed)


def sweep_volumes(backend: Backend, now: float, lead: float = 0) -> int:
    removed = 0
    for volume in unwanted_volumes(backend.unused_volumes(), now, lead):
        try:
            backend.remove_volume(volume.name)
        except DockerError as exc:  # in use again, say: the next sweep sees it
            log.debug("volume %s not removed: %s", volume.name, exc)
            continue
        removed += 1
    return removed


def sweep_disks(backend: Backend, now: float) -> int:
    images = backend.disk_images()
    if not images:
        return 0
    doomed = orphan_images(images, backend.volume_names(), now)
    for image in doomed:
        backend.remove_disk_image(image.volume)
    return len(doomed)


def sweep_cgroups(backend: Backend, now: float, max_age: float) -> int:
    cgroups = backend.cgroups()
    if not cgroups:
        return 0
    doomed = stale_cgroups(cgroups, backend.container_names(), now, max_age)
    for cgroup in doomed:
        backend.release_cgroup(cgroup.name)
    return len(doomed)


def sweep_networks(backend: Backend, now: float) -> int:
    networks = backend.sandbox_networks()
    if not networks:
        return 0
    removed = 0
    for network in orphan_networks(networks, backend.container_names(), now):
        try:
            backend.remove_network(network.name)
        except DockerError as exc:  # a container on it after all: the next sweep sees it
            log.debug("network %s not removed: %s", network.name, exc)
            continue
        removed += 1
    return removed


def workdir_sweep_every(settings: Settings) -> float:
    """Seconds between a worker's sweeps of unused volumes: often enough that a workdir
    goes within GRADERQ_WORKDIR_TTL (a sweep takes those expiring before the next one),
    and none more than a tenth of its TTL early."""
    return min(WORKDIR_SWEEP, settings.janitor_interval, settings.workdir_ttl / 10)


def abandoned_after(settings: Settings) -> float:
    """Seconds after which a sandbox counts as abandoned: more than any task may run."""
    return settings.task_time_limit + settings.task_time_margin


def sweep(backend: Backend, max_age: float, now: float | None = None) -> Sweep:
    """Remove abandoned sandbox containers, then volumes, disk images, networks and
    cgroups.

    In this order: removing a container leaves its disk unused, and a volume its image.
    """
    now = time.time() if now is None else now
    done = Sweep(
        containers=sweep_containers(backend, now, max_age),
        volumes=sweep_volumes(backend, now),
        disks=sweep_disks(backend, now),
        networks=sweep_networks(backend, now),
    )
    sweep_cgroups(backend, now, max_age)
    if done.containers or done.volumes or done.disks or done.networks:
        log.info(
            "janitor removed %d containers, %d volumes, %d disks and %d networks",
            done.containers,
            done.volumes,
            done.disks,
            done.networks,
        )
    return done


def check_room(backend: DockerBackend, settings: Settings) -> str | None:
    """Log (and return) a warning when the disk dir lacks room for GRADERQ_MAX_DISKS
    disks of the default size; None when there is room, or no disks are made here."""
    megabytes = settings.default_limits.disk
    if megabytes is None or not backend.local:
        return None
    room = disks.room(backend.disk_dir, backend.node_id(), settings.max_disks, megabytes)
    warning = disks.room_warning(room, backend.disk_dir, settings.max_disks, megabytes)
    if warning is not None:
        log.warning("%s; free space there, or lower GRADERQ_MAX_DISKS", warning)
    return warning
