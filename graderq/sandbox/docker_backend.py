"""The Docker backend: one-time sandbox containers on one Docker daemon (docker-py).

Low-level API calls only: each is one HTTP request, so graderq pays for nothing the
bare create/start/wait/remove sequence does not, beyond attach and two inspects.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import docker.errors

from graderq.addresses import parse_allow
from graderq.errors import DiskError, DockerError, DockerUnavailable, WorkdirError, WorkdirLost
from graderq.limits import Limits
from graderq.request import SandboxFile
from graderq.sandbox import docker_run, perimeter, runtimes
from graderq.sandbox.accounting import DRIVERS, Accounting
from graderq.sandbox.archives import tar, untar
from graderq.sandbox.backend import Cgroup, Container, DiskImage, Network, Volume
from graderq.sandbox.docker_api import connect, engine_errors, inspect_and_remove, is_local, kill
from graderq.sandbox.docker_pair import Party, interact
from graderq.sandbox.frames import Demuxer
from graderq.sandbox.identities import Identities, Identity, workdir_record
from graderq.sandbox.networks import BRIDGE_MATCH, Networks, network_name
from graderq.sandbox.outcome import Outcome
from graderq.sandbox.spec import (
    KIND_SANDBOX,
    KIND_WORKDIR,
    LABEL,
    WORKDIR,
    WORKDIR_EXPIRES,
    ContainerSpec,
    create_body,
    owner_labels,
)
from graderq.sandbox.volumes import SLOT_LABEL, Volumes, disk_of, sandbox_disk
from graderq.settings import Settings

log = logging.getLogger("graderq.sandbox")
_UNKNOWN = object()
DESTROY_PATIENCE = 30.0
"""Seconds destroy keeps retrying an unreachable engine (a daemon restart) before failing."""


class DockerBackend:
    """Sandboxes on the Docker daemon at `base_url` (None: DOCKER_HOST or the socket).

    What a sandbox leaves to clean up (its container, disk and cgroup) is read from
    the host, never remembered, so another process cleans up after a dead one; disks
    and volumes are volumes.py's. `_cgroups` is per-container run state only: it
    tells start() which cgroup to read, in the process that created the container
    (a container started by another process is not accounted: None, never a guess);
    `_disks` likewise tells it which disk (volume, loop device) to watch for I/O errors.
    Each sandbox runs as a host UID of its own from the machine's pool (identities.py),
    held by this process until it destroys the sandbox (`_names` finds the holder), or
    as its working directory's UID (recorded on the workdir's volume, SLOT_LABEL), and a
    sandbox with network on a network of its own (networks.py). `_owners` tells
    put_files whom the files are for.
    """

    def __init__(
        self,
        base_url: str | None,
        timeout: float,
        disk_dir: Path,
        max_disks: int | None = None,
        sandbox_allow: str = "",
        default_runtime: str | None = None,
        uid_base: int = Settings.model_fields["sandbox_uid_base"].default,
        uid_slots: int = Settings.model_fields["sandbox_uid_slots"].default,
        sandbox_subnets: str = Settings.model_fields["sandbox_subnets"].default,
    ) -> None:
        self.base_url = base_url
        self.default_runtime = default_runtime
        """The runtime of a spec that names none; None: the daemon's default."""
        self.timeout = timeout
        self.disk_dir = disk_dir
        self.allowed = parse_allow(sandbox_allow)
        self._api: docker.APIClient | None = None
        self._lock = threading.Lock()
        self._kill_pool: ThreadPoolExecutor | None = None
        self._accounting: Accounting | object | None = _UNKNOWN
        self._runtimes: dict[str, dict[str, Any]] | None = None
        self._cgroups: dict[str, str] = {}
        self._disks: dict[str, tuple[str, str]] = {}
        self._names: dict[str, str] = {}
        self._owners: dict[str, Identity] = {}
        self._perimeter_ready = False
        self._volumes = Volumes(lambda: self.api, disk_dir, max_disks)
        self._identities = Identities(
            uid_base,
            uid_slots,
            self._container_exists,
            volume_exists=lambda name: self._volumes.find(name) is not None,
            node=self.node_id,
        )
        self._networks = Networks(lambda: self.api, sandbox_subnets, uid_slots)

    @classmethod
    def from_settings(cls, settings: Settings, base_url: str | None = None) -> DockerBackend:
        """The backend that `settings` describe; `base_url` names another daemon."""
        return cls(
            base_url or settings.docker_url,
            settings.docker_timeout,
            settings.disk_dir,
            settings.max_disks,
            settings.sandbox_allow,
            settings.default_runtime,
            settings.sandbox_uid_base,
            settings.sandbox_uid_slots,
            settings.sandbox_subnets,
        )

    @property
    def api(self) -> docker.APIClient:
        """The API client, connected on first use (version negotiated once)."""
        if self._api is None:
            with self._lock:
                if self._api is None:
                    self._api = connect(self.base_url, self.timeout)
        return self._api

    @property
    def local(self) -> bool:
        """Whether the daemon is on this machine (a Unix socket)."""
        return is_local(self.api)

    @property
    def accounting(self) -> Accounting | None:
        """Cgroup accounting, if this process sees the daemon's cgroup tree (v1 or v2,
        the cgroupfs or the systemd driver); None for a remote daemon or another driver."""
        if self._accounting is _UNKNOWN:
            with engine_errors("cannot read the Docker engine's cgroup driver"):
                driver = self.api.info().get("CgroupDriver")
            accounting = Accounting(driver=driver) if driver in DRIVERS else None
            usable = accounting is not None and self.local and accounting.supported()
            self._accounting = accounting if usable else None
        return self._accounting  # type: ignore[return-value]

    @property
    def runtimes(self) -> dict[str, dict[str, Any]]:
        """The daemon's runtimes (docker info's Runtimes), read once."""
        if self._runtimes is None:
            with engine_errors("cannot read the Docker engine's runtimes"):
                self._runtimes = runtimes.known(self.api.info())
        return self._runtimes

    def ensure_perimeter(self) -> None:
        """Close the perimeter of the sandbox networks, once per process: only
        GRADERQ_SANDBOX_ALLOW is reachable from any `gqsb+` bridge (perimeter.py)."""
        if self._perimeter_ready:
            return
        if not self.local:
            raise DockerError(
                "cannot close the perimeter of the sandbox networks: the Docker engine at "
                f"{self.base_url} is elsewhere; run the worker on its Docker host"
            )
        perimeter.install(self.allowed, BRIDGE_MATCH)
        self._perimeter_ready = True

    def _container_exists(self, name: str) -> bool:
        with engine_errors("cannot inspect the last sandbox of a host UID"):
            try:
                self.api.inspect_container(name)
            except docker.errors.NotFound:
                return False
        return True

    def create(self, spec: ContainerSpec) -> str:
        """Take a host UID (and a network of its own) for the container, then create it:
        it runs as that UID, or as its working directory's."""
        if spec.runtime is None and self.default_runtime is not None:
            spec = dataclasses.replace(spec, runtime=self.default_runtime)
        if spec.runtime is not None:  # refused before anything is made
            probe = spec if spec.network_disabled else dataclasses.replace(spec, network="-")
            runtimes.adapt(create_body(probe), spec, self.runtimes)
        name = f"graderq-{uuid.uuid4().hex[:16]}"
        identity = self._identities.take(name)
        network = None
        try:
            owner = identity if spec.volume is None else self._workdir_owner(spec.volume, identity)
            if not spec.network_disabled:
                self.ensure_perimeter()
                network = self._networks.make(name, identity.slot)
            spec = dataclasses.replace(spec, user=owner.user, network=network)
            container = self._create(name, spec)
        except BaseException:
            if network is not None:
                self._drop_network(network)
            self._identities.release(name)
            raise
        self._names[container] = name
        self._owners[container] = owner
        return container

    def _workdir_owner(self, volume: str, fallback: Identity) -> Identity:
        """The UID of the working directory `volume`, recorded when it was made; a
        workdir made before workdirs had UIDs of their own runs as `fallback`."""
        found = self._volumes.find(volume)
        recorded = found.labels.get(SLOT_LABEL) if found is not None else None
        owner = self._identities.slot_identity(recorded) if recorded is not None else None
        return owner or fallback

    def _create(self, name: str, spec: ContainerSpec) -> str:
        disk = device = None
        if spec.needs_volume:  # a disk of the disk limit, or a plain volume if unbounded
            disk = sandbox_disk(name)
            device = self._volumes.make(disk, owner_labels(KIND_SANDBOX), spec.limits.disk)
            spec = dataclasses.replace(spec, volume=disk, device=device)
        elif spec.volume is not None:  # a workdir: its disk, if it has one
            device = self._volumes.device(spec.volume)
            spec = dataclasses.replace(spec, device=device)
        body = create_body(spec)
        if spec.runtime is not None:
            runtimes.adapt(body, spec, self.runtimes)
        accounting = self.accounting
        if accounting is not None:
            body["HostConfig"]["CgroupParent"] = accounting.parent(name)
        try:
            with engine_errors("cannot create the sandbox container", spec.image):
                container = self.api.create_container_from_config(body, name=name)["Id"]
        except BaseException:
            if disk is not None:
                self._discard(disk)
            raise
        if accounting is not None:
            self._cgroups[container] = name
        if device is not None and spec.volume is not None:
            self._disks[container] = (spec.volume, device)
        return container

    def put_files(self, container: str, files: Sequence[SandboxFile]) -> None:
        """Write `files` into /sandbox, owned by the UID the container runs as."""
        owner = self._owners.get(container) or self._identities.identity(0)
        with engine_errors("cannot write files into the sandbox"):
            self.api.put_archive(container, WORKDIR, tar(files, owner.uid, owner.gid))

    def start(self, container: str, stdin: bytes | None, limits: Limits) -> Outcome:
        demuxer = Demuxer(limits.output)
        cgroup = self._cgroups.get(container)
        accounting = self.accounting if cgroup else None
        disk = self._disks.get(container)
        watch = self._volumes.watch(*disk) if disk else None
        try:
            outcome = docker_run.run(
                self.api, self.kill_later, container, stdin, limits, demuxer, cgroup, accounting
            )
        except BaseException:
            if watch is not None:
                watch.close()
            raise
        if watch is not None and (errors := watch.errors()):
            raise DiskError(
                f"the run's disk {disk[0]} ({disk[1]}) saw I/O errors, so what the run "
                f"wrote may be lost; its result is void: {'; '.join(errors[:3])}"
            )
        return outcome

    def interact(
        self, first: str, first_limits: Limits, second: str, second_limits: Limits
    ) -> tuple[Outcome, Outcome]:
        """Run two created containers at once, cross-wired (see docker_pair.py)."""
        pair = (
            Party(first, self._cgroups.get(first), first_limits),
            Party(second, self._cgroups.get(second), second_limits),
        )
        return interact(self.api, self.accounting, self.kill_later, *pair)

    def read_files(self, container: str) -> list[SandboxFile]:
        """The regular files under the container's /sandbox (it need not be running)."""
        with engine_errors("cannot read files from the sandbox"):
            stream, _ = self.api.get_archive(container, f"{WORKDIR}/.")
            return untar(b"".join(stream))

    def _killer(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._kill_pool is None:
                self._kill_pool = ThreadPoolExecutor(2, thread_name_prefix="graderq-kill")
        return self._kill_pool

    def kill_later(self, container: str) -> Future[None]:
        """Kill the container on another thread (while this one reads its output)."""
        return self._killer().submit(kill, self.api, container)

    def destroy(self, container: str) -> None:
        """Remove the container, then its cgroup and its own disk, as the host shows them.

        While the engine is unreachable (a daemon restart), keep trying a while.
        """
        self._cgroups.pop(container, None)
        self._disks.pop(container, None)
        self._owners.pop(container, None)
        holder = self._names.pop(container, None)
        try:
            self._destroy(container)
        finally:
            # Even if removal failed: the slot's next holder checks this one is gone.
            if holder is not None:
                self._identities.release(holder)

    def _destroy(self, container: str) -> None:
        deadline = time.monotonic() + DESTROY_PATIENCE
        while True:
            try:
                with engine_errors("cannot remove the sandbox container"):
                    found = inspect_and_remove(self.api, container)
                break
            except DockerUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)  # the daemon is restarting: poll it again
        if found is None:
            return
        name = found["Name"].lstrip("/")
        parent = (found.get("HostConfig") or {}).get("CgroupParent")
        accounting = self.accounting
        if parent and accounting is not None and parent == accounting.parent(name):
            accounting.release(name)
        disk = disk_of(found)
        if disk is not None:
            self._discard(disk)
        if (found.get("HostConfig") or {}).get("NetworkMode") == network_name(name):
            self._drop_network(network_name(name))

    def _drop_network(self, network: str) -> None:
        """Remove a sandbox's network, or leave it to the janitor if that fails."""
        try:
            self._networks.remove(network)
        except DockerError as exc:
            log.warning("sandbox network %s left for the janitor: %s", network, exc)

    def _discard(self, volume: str) -> None:
        """Remove a sandbox's disk volume, or leave it to the janitor if that fails."""
        try:
            self.remove_volume(volume)
        except DockerError as exc:
            log.warning("sandbox disk %s left for the janitor: %s", volume, exc)

    def create_volume(self, labels: dict[str, str], disk: int | None = None) -> str:
        """A working directory's volume, with a host UID of its own for its life: the
        slot is locked while the volume is made, then kept by its record alone."""
        name = f"graderq-wd-{uuid.uuid4().hex}"
        identity = self._identities.take(name)
        try:
            self._volumes.make(name, {**labels, SLOT_LABEL: str(identity.slot)}, disk)
            expires = float(labels.get(WORKDIR_EXPIRES) or time.time())
            self._identities.hand_over(name, workdir_record(self.node_id(), name, expires))
        except BaseException:
            self._identities.release(name)
            raise
        return name

    def check_workdir(self, name: str) -> None:
        volume = self._volumes.find(name)
        if volume is None:
            raise WorkdirError(
                f"Invalid 'workdir': no working directory {name!r} on this Docker host "
                "(removed, expired, or made elsewhere)"
            )
        if volume.labels.get(LABEL) != KIND_WORKDIR:
            raise WorkdirError(
                f"Invalid 'workdir': volume {name!r} was not made by graderq.working_directory()"
            )
        if not volume.intact:
            raise WorkdirLost(
                f"the working directory {name!r} lost its disk (was the host restarted?); "
                "make a new one"
            )

    def remove_volume(self, name: str) -> None:
        self._volumes.remove(name)

    def node_id(self) -> str:
        return self._volumes.node_id()

    def sandbox_containers(self) -> list[Container]:
        with engine_errors("cannot list the sandbox containers"):
            found = self.api.containers(all=True, filters={"label": f"{LABEL}={KIND_SANDBOX}"})
        return [Container(c["Id"], c["Names"][0].lstrip("/"), c.get("Labels") or {}) for c in found]

    def container_names(self) -> set[str]:
        with engine_errors("cannot list containers"):
            found = self.api.containers(all=True)
        return {name.lstrip("/") for container in found for name in container["Names"]}

    def unused_volumes(self) -> list[Volume]:
        return self._volumes.unused()

    def volume_names(self) -> set[str]:
        return self._volumes.names()

    def disk_images(self) -> list[DiskImage]:
        return self._volumes.images()

    def remove_disk_image(self, volume: str) -> None:
        self._volumes.remove_image(volume)

    def sandbox_networks(self) -> list[Network]:
        return self._networks.listed()

    def remove_network(self, name: str) -> None:
        self._networks.remove(name)

    def cgroups(self) -> list[Cgroup]:
        accounting = self.accounting
        if accounting is None:
            return []
        return [Cgroup(name, made) for name, made in accounting.parents().items()]

    def release_cgroup(self, name: str) -> None:
        if self.accounting is not None:
            self.accounting.release(name)
