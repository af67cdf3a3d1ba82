"""The seam between graderq and a container engine.

DockerBackend is the real one; FakeBackend runs nothing, for fast tests of the logic
above it (validation, limits, results) without Docker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from graderq.limits import Limits
from graderq.request import SandboxFile
from graderq.sandbox.outcome import Outcome
from graderq.sandbox.spec import ContainerSpec


class Backend(Protocol):
    """One container engine (one Docker host)."""

    def create(self, spec: ContainerSpec) -> str:
        """Create (not start) a container; return its id."""

    def put_files(self, container: str, files: Sequence[SandboxFile]) -> None:
        """Write files into the container's working directory."""

    def start(self, container: str, stdin: bytes | None, limits: Limits) -> Outcome:
        """Start the container, feed stdin, collect output, wait for the end."""

    def destroy(self, container: str) -> None:
        """Kill and remove the container and its anonymous volumes; gone is fine."""

    def create_volume(self, labels: dict[str, str], disk: int | None = None) -> str:
        """Create a working-directory volume, a disk of `disk` MB if given; its name."""

    def check_workdir(self, name: str) -> None:
        """Raise ValueError unless `name` is a working-directory volume graderq made."""

    def remove_volume(self, name: str) -> None:
        """Remove a volume; gone is fine."""

    def node_id(self) -> str:
        """A stable identity of this engine: equal for two clients of one daemon."""
