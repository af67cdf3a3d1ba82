"""The seam between graderq and a container engine.

DockerBackend is the real one; FakeBackend runs nothing, for fast tests of the logic
above it (validation, limits, results, the janitor's decisions) without Docker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from graderq.limits import Limits
from graderq.request import SandboxFile
from graderq.sandbox.outcome import Outcome
from graderq.sandbox.spec import ContainerSpec


@dataclass(frozen=True)
class Container:
    """A sandbox container as the engine lists it."""

    id: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Volume:
    """A graderq volume as the engine shows it, and whether its disk is still its own.

    `intact` is False only for a bounded disk whose loop device no longer holds its
    image (a reboot detached it, or gave the device to another disk): such a volume
    must never be mounted again.
    """

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    intact: bool = True


@dataclass(frozen=True)
class DiskImage:
    """A disk's image file on the host, named after its volume; `changed`: its mtime."""

    volume: str
    changed: float


@dataclass(frozen=True)
class Cgroup:
    """A sandbox's accounting cgroup on the host, named after its container."""

    name: str
    made: float


@dataclass(frozen=True)
class Network:
    """A sandbox's own network as the engine lists it (its labels name its container)."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)


class Backend(Protocol):
    """One container engine (one Docker host)."""

    def create(self, spec: ContainerSpec) -> str:
        """Create (not start) a container; return its id."""

    def put_files(self, container: str, files: Sequence[SandboxFile]) -> None:
        """Write files into the container's working directory."""

    def start(self, container: str, stdin: bytes | None, limits: Limits) -> Outcome:
        """Start the container, feed stdin, collect output, wait for the end."""

    def interact(
        self, first: str, first_limits: Limits, second: str, second_limits: Limits
    ) -> tuple[Outcome, Outcome]:
        """Start two containers at once, each one's stdout feeding the other's stdin, until
        both end or the first one's realtime passes; their outcomes, in that order."""

    def read_files(self, container: str) -> list[SandboxFile]:
        """The regular files in the container's working directory."""

    def destroy(self, container: str) -> None:
        """Kill and remove the container, its anonymous volumes and its disk; gone is fine."""

    def create_volume(self, labels: dict[str, str], disk: int | None = None) -> str:
        """Create a working-directory volume, a disk of `disk` MB if given; its name."""

    def check_workdir(self, name: str) -> None:
        """Raise ValueError unless `name` is a working-directory volume graderq made."""

    def remove_volume(self, name: str) -> None:
        """Remove a volume and its disk; gone is fine."""

    def node_id(self) -> str:
        """A stable identity of this engine: equal for two clients of one daemon."""

    # What the janitor reads and removes: listings of what the host holds now.

    def sandbox_containers(self) -> list[Container]:
        """Every container labelled as a graderq sandbox, running or not."""

    def container_names(self) -> set[str]:
        """The names of every container on the engine, graderq's or not."""

    def unused_volumes(self) -> list[Volume]:
        """The graderq-labelled volumes that no container uses."""

    def volume_names(self) -> set[str]:
        """The names of every volume on the engine, graderq's or not."""

    def disk_images(self) -> list[DiskImage]:
        """This engine's disk images on this machine (none for an engine elsewhere)."""

    def remove_disk_image(self, volume: str) -> None:
        """Detach and delete the image of `volume`'s disk; gone is fine."""

    def sandbox_networks(self) -> list[Network]:
        """Every network made for one sandbox with network, its container there or not."""

    def remove_network(self, name: str) -> None:
        """Remove a sandbox's network; gone is fine."""

    def cgroups(self) -> list[Cgroup]:
        """Sandbox accounting cgroups on this machine (none without accounting)."""

    def release_cgroup(self, name: str) -> None:
        """Remove a sandbox's accounting cgroup; gone is fine."""
