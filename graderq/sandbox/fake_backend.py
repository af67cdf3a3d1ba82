"""A backend that runs nothing: scripted outcomes, recorded containers and volumes.

For fast tests of the layers above the engine (the janitor's decisions too); never a
stand-in for the real engine in integration tests.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from graderq.errors import WorkdirError
from graderq.limits import Limits
from graderq.request import SandboxFile
from graderq.sandbox.backend import Cgroup, Container, DiskImage, Network, Volume
from graderq.sandbox.communicate import Ending
from graderq.sandbox.outcome import Outcome
from graderq.sandbox.spec import KIND_SANDBOX, LABEL, ContainerSpec


@dataclass
class FakeContainer:
    spec: ContainerSpec
    files: list[SandboxFile] = field(default_factory=list)
    runs: int = 0


Script = Callable[[FakeContainer, bytes | None], Outcome]
PairScript = Callable[[FakeContainer, FakeContainer], tuple[Outcome, Outcome]]


def echo(container: FakeContainer, stdin: bytes | None) -> Outcome:
    """The default script: exit 0, stdout is stdin."""
    return Outcome(0, stdin or b"", b"", 0.0, False, Ending.EXITED)


class FakeBackend:
    """Records what would happen on an engine; `script` decides each run's outcome.

    A container's name is its id. What a test may set up for the janitor: `labels` of
    volumes, `lost` disks, `images` on the host, `cgroup_dirs`, sandbox `networks`.
    """

    def __init__(
        self, script: Script = echo, node: str = "fake-node", pair_script: PairScript | None = None
    ) -> None:
        self.script = script
        self.pair_script = pair_script
        self.node = node
        self.containers: dict[str, FakeContainer] = {}
        self.volumes: set[str] = set()
        self.labels: dict[str, dict[str, str]] = {}
        """Each volume's labels."""
        self.disks: dict[str, int | None] = {}
        """Each volume made: its disk size in megabytes."""
        self.lost: set[str] = set()
        """Volumes whose disk lost its image (a reboot detached its loop device)."""
        self.images: dict[str, float] = {}
        """Disk images on the host: their volume's name, and when each was changed."""
        self.cgroup_dirs: dict[str, float] = {}
        """Accounting cgroups on the host: their container's name, and when made."""
        self.networks: dict[str, dict[str, str]] = {}
        """Sandbox networks on the host: their labels (which name their container)."""
        self.created: list[FakeContainer] = []
        self._ids = itertools.count(1)

    def create(self, spec: ContainerSpec) -> str:
        container_id = f"fake-{next(self._ids)}"
        self.containers[container_id] = FakeContainer(spec)
        self.created.append(self.containers[container_id])
        return container_id

    def put_files(self, container: str, files: Sequence[SandboxFile]) -> None:
        self.containers[container].files.extend(files)

    def start(self, container: str, stdin: bytes | None, limits: Limits) -> Outcome:
        fake = self.containers[container]
        fake.runs += 1
        return self.script(fake, stdin)

    def interact(
        self, first: str, first_limits: Limits, second: str, second_limits: Limits
    ) -> tuple[Outcome, Outcome]:
        if self.pair_script is None:
            raise NotImplementedError("FakeBackend(pair_script=...) decides cross-wired runs")
        pair = self.containers[first], self.containers[second]
        for fake in pair:
            fake.runs += 1
        return self.pair_script(*pair)

    def read_files(self, container: str) -> list[SandboxFile]:
        return list(self.containers[container].files)

    def destroy(self, container: str) -> None:
        self.containers.pop(container, None)

    def create_volume(self, labels: dict[str, str], disk: int | None = None) -> str:
        name = f"fake-volume-{next(self._ids)}"
        self.volumes.add(name)
        self.labels[name] = dict(labels)
        self.disks[name] = disk
        if disk is not None:
            self.images[name] = time.time()
        return name

    def check_workdir(self, name: str) -> None:
        if name not in self.volumes:
            raise WorkdirError(f"Invalid 'workdir': no working directory {name!r} on this host")

    def remove_volume(self, name: str) -> None:
        self.volumes.discard(name)
        self.labels.pop(name, None)
        self.lost.discard(name)
        self.images.pop(name, None)

    def node_id(self) -> str:
        return self.node

    def sandbox_containers(self) -> list[Container]:
        return [
            Container(name, name, fake.spec.labels)
            for name, fake in self.containers.items()
            if fake.spec.labels.get(LABEL) == KIND_SANDBOX
        ]

    def container_names(self) -> set[str]:
        return set(self.containers)

    def unused_volumes(self) -> list[Volume]:
        used = {fake.spec.volume for fake in self.containers.values()}
        return [
            Volume(name, self.labels[name], name not in self.lost)
            for name in sorted(self.volumes)
            if LABEL in self.labels.get(name, {}) and name not in used
        ]

    def volume_names(self) -> set[str]:
        return set(self.volumes)

    def disk_images(self) -> list[DiskImage]:
        return [DiskImage(volume, changed) for volume, changed in self.images.items()]

    def remove_disk_image(self, volume: str) -> None:
        self.images.pop(volume, None)

    def sandbox_networks(self) -> list[Network]:
        return [Network(name, labels) for name, labels in self.networks.items()]

    def remove_network(self, name: str) -> None:
        self.networks.pop(name, None)

    def cgroups(self) -> list[Cgroup]:
        return [Cgroup(name, made) for name, made in self.cgroup_dirs.items()]

    def release_cgroup(self, name: str) -> None:
        self.cgroup_dirs.pop(name, None)
