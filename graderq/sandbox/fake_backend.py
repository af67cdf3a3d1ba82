"""A backend that runs nothing: scripted outcomes, recorded containers and volumes.

For fast tests of the layers above the engine; never a stand-in for the real engine
in integration tests.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from graderq.limits import Limits
from graderq.request import SandboxFile
from graderq.sandbox.communicate import Ending
from graderq.sandbox.outcome import Outcome
from graderq.sandbox.spec import ContainerSpec


@dataclass
class FakeContainer:
    spec: ContainerSpec
    files: list[SandboxFile] = field(default_factory=list)
    runs: int = 0


Script = Callable[[FakeContainer, bytes | None], Outcome]


def echo(container: FakeContainer, stdin: bytes | None) -> Outcome:
    """The default script: exit 0, stdout is stdin."""
    return Outcome(0, stdin or b"", b"", 0.0, False, Ending.EXITED)


class FakeBackend:
    """Records what would happen on an engine; `script` decides each run's outcome."""

    def __init__(self, script: Script = echo, node: str = "fake-node") -> None:
        self.script = script
        self.node = node
        self.containers: dict[str, FakeContainer] = {}
        self.volumes: set[str] = set()
        self.disks: dict[str, int | None] = {}
        """Each volume made: its disk size in megabytes."""
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

    def destroy(self, container: str) -> None:
        self.containers.pop(container, None)

    def create_volume(self, labels: dict[str, str], disk: int | None = None) -> str:
        name = f"fake-volume-{next(self._ids)}"
        self.volumes.add(name)
        self.disks[name] = disk
        return name

    def check_workdir(self, name: str) -> None:
        if name not in self.volumes:
            raise ValueError(f"Invalid 'workdir': no working directory {name!r} on this host")

    def remove_volume(self, name: str) -> None:
        self.volumes.discard(name)

    def node_id(self) -> str:
        return self.node
