"""graderq's volumes on one Docker daemon, and the bounded disks under them.

This module owns a disk's life: make (image, loop device, volume), find, and delete
(volume, loop devices, image). It remembers nothing: a disk's state is read from the
host each time, so any process, a worker started after the one that made a disk died,
finds and cleans it. What the host shows:

- the volume: DISK_LABEL (its size) and, in its options, the loop device it mounts;
- the image: `<disk_dir>/<node>/<volume>.img`, named after the volume (disks.py);
- the loop devices: /sys/block/loop*/loop/backing_file names the image on each;
- a sandbox's own disk: the volume at /sandbox named after the container (`<name>-disk`).

The cap on disks (`max_disks`) is counted from the images, so every worker process of
one node shares it.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

import docker
import docker.errors

from graderq.errors import DiskError, VolumeInUse
from graderq.sandbox import disks
from graderq.sandbox.backend import DiskImage, Volume
from graderq.sandbox.docker_api import engine_errors, is_local
from graderq.sandbox.spec import KIND_NODE, LABEL, NODE_LABEL, NODE_VOLUME

log = logging.getLogger("graderq.sandbox")
DISK_LABEL = f"{LABEL}.disk"
"""On a volume that is a bounded disk: its size in megabytes."""
SLOT_LABEL = f"{LABEL}.slot"
"""On a working directory's volume: the slot of its host UID (identities.py)."""
ROOT_MODE = 0o777
"""The root of every volume mounted at /sandbox: the sandbox's own (no other sandbox
mounts it), whatever UID it runs as; a disk's root is made so (disks.PREPARE)."""


def sandbox_disk(container_name: str) -> str:
    """The name of the disk made for the files of the sandbox `container_name`."""
    return f"{container_name}-disk"


def disk_of(container: Mapping[str, Any]) -> str | None:
    """The sandbox's own disk in an inspected container, or None (none, or a workdir)."""
    own = sandbox_disk(str(container.get("Name", "")).lstrip("/"))
    for mount in container.get("Mounts") or []:
        if mount.get("Type") == "volume" and mount.get("Name") == own:
            return own
    return None


class Volumes:
    """The volumes of the daemon that `api` reaches; disk images under `disk_dir`."""

    def __init__(
        self, api: Callable[[], docker.APIClient], disk_dir: Path, max_disks: int | None = None
    ) -> None:
        self._api = api
        self.disk_dir = disk_dir
        self.max_disks = max_disks
        self._node_id: str | None = None

    @property
    def local(self) -> bool:
        return is_local(self._api())

    def node_id(self) -> str:
        """This daemon's graderq identity, kept in a labelled volume on the daemon itself.

        Every client of one daemon reads the same volume; another daemon has its own
        (the daemon's own ID is no good: daemons sharing /etc/docker share it).
        """
        if self._node_id is None:
            api = self._api()
            with engine_errors("cannot read the Docker engine's graderq identity"):
                try:
                    volume = api.inspect_volume(NODE_VOLUME)
                except docker.errors.NotFound:
                    labels = {LABEL: KIND_NODE, NODE_LABEL: uuid.uuid4().hex[:12]}
                    api.create_volume(NODE_VOLUME, labels=labels)
                    volume = api.inspect_volume(NODE_VOLUME)  # a racing twin may have won
            self._node_id = volume["Labels"][NODE_LABEL]
        return self._node_id

    def make(self, name: str, labels: dict[str, str], disk: int | None) -> str | None:
        """A volume; with `disk` megabytes, a bounded disk of that size (see disks.py).

        Returns the disk's loop device, or None for a plain volume.
        """
        action = f"cannot create the volume {name!r}"
        api = self._api()
        if disk is None:
            with engine_errors(action):
                made = api.create_volume(name, labels=labels)
            self._open_root(made)
            return None
        if not is_local(api):
            raise DiskError(
                f"{action}: a {disk} MB disk is a loop device on this machine, but the Docker "
                f"engine at {api.base_url} is elsewhere; run the worker on the Docker "
                "host, or set the 'disk' limit to None (unbounded)"
            )
        image = self._image(name)
        device = disks.make(image, disk, self.max_disks)
        try:
            with engine_errors(action):
                api.create_volume(
                    name,
                    driver="local",
                    driver_opts=disks.volume_options(device),
                    labels={**labels, DISK_LABEL: str(disk)},
                )
        except BaseException:
            disks.remove(image)
            raise
        return device

    def _open_root(self, volume: Mapping[str, Any]) -> None:
        """Make a plain volume's root (Docker's: root's, 0755) ROOT_MODE, where this
        machine sees the daemon's volume folder; elsewhere it stays as Docker made it."""
        mountpoint = volume.get("Mountpoint")
        if not mountpoint or not self.local:
            return
        try:
            os.chmod(mountpoint, ROOT_MODE)
        except OSError as exc:
            log.warning("volume %s: cannot open its root to the sandbox: %s", volume, exc)

    def device(self, name: str) -> str | None:
        """The loop device of the disk that is volume `name`; None for a plain volume, a
        missing one or a daemon elsewhere (its devices are not this machine's)."""
        if not self.local:
            return None
        with engine_errors(f"cannot inspect the volume {name!r}"):
            try:
                found = self._api().inspect_volume(name)
            except docker.errors.NotFound:
                return None
        device = (found.get("Options") or {}).get("device")
        return device if device and self._intact(name, found.get("Options")) else None

    def watch(self, name: str, device: str) -> disks.IoWatch:
        """Watch the disk of the volume `name` on `device` for I/O errors from now on."""
        return disks.IoWatch(device, self._image(name))

    def room(self, megabytes: int) -> disks.Room:
        """The disk dir's room for the disks this node may still make of `megabytes`."""
        return disks.room(self.disk_dir, self.node_id(), self.max_disks or 0, megabytes)

    def find(self, name: str) -> Volume | None:
        """The volume `name` as the host shows it, or None if there is none."""
        with engine_errors(f"cannot inspect the volume {name!r}"):
            try:
                found = self._api().inspect_volume(name)
            except docker.errors.NotFound:
                return None
        return self._volume(found)

    def unused(self) -> list[Volume]:
        """The graderq-labelled volumes that no container uses."""
        with engine_errors("cannot list the unused graderq volumes"):
            found = self._api().volumes(filters={"label": LABEL, "dangling": True})
        return [self._volume(volume) for volume in found.get("Volumes") or []]

    def names(self) -> set[str]:
        """The names of every volume on the daemon."""
        with engine_errors("cannot list volumes"):
            found = self._api().volumes()
        return {volume["Name"] for volume in found.get("Volumes") or []}

    def _volume(self, found: Mapping[str, Any]) -> Volume:
        name = found["Name"]
        return Volume(name, found.get("Labels") or {}, self._intact(name, found.get("Options")))

    def _intact(self, name: str, options: Mapping[str, str] | None) -> bool:
        """Whether a volume that is a disk still has its own image on its loop device.

        After a reboot its device is detached, or attached to another sandbox's disk.
        """
        device = (options or {}).get("device")
        if device is None or not self.local:
            return True
        return disks.path_of(device) == str(self._image(name))

    def remove(self, name: str) -> None:
        """Remove a volume and its disk, if it has one; gone is fine."""
        action = f"cannot remove the volume {name!r}"
        api = self._api()
        with engine_errors(action), suppress(docker.errors.NotFound):
            try:
                api.remove_volume(name)
            except docker.errors.APIError as exc:
                if exc.status_code == 409:
                    raise VolumeInUse(f"{action}: it is in use by a container") from exc
                raise
        if is_local(api):
            self.remove_image(name)

    def images(self) -> list[DiskImage]:
        """This daemon's disk images on this machine; none if the daemon is elsewhere."""
        if not self.local:
            return []
        found = disks.images(self.disk_dir / self.node_id())
        return [DiskImage(volume, changed) for volume, changed in found.items()]

    def remove_image(self, volume: str) -> None:
        """Detach every loop device on the image of `volume` and delete it; gone is fine."""
        disks.remove(self._image(volume))

    def _image(self, volume: str) -> Path:
        return disks.image_path(self.disk_dir, self.node_id(), volume)
