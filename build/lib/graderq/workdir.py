"""A working directory handle: what a producer holds and sends to the workers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graderq.errors import WorkdirError


class WorkingDirectory(dict):
    """A Docker volume shared by the runs given it; made by `working_directory()`.

    A small dict, {'volume': name, 'node': host or None}, so that any JSON encoder
    carries it from a producer to the workers unchanged.
    """

    def __init__(self, volume: str, node: str | None = None) -> None:
        super().__init__(volume=volume, node=node)

    @property
    def volume(self) -> str:
        return self["volume"]

    @property
    def node(self) -> str | None:
        return self["node"]

    def __repr__(self) -> str:
        where = f" node={self.node}" if self.node else ""
        return f"<WorkingDirectory: {self.volume}{where}>"


def as_workdir(value: Any) -> WorkingDirectory | None:
    """A WorkingDirectory from a handle or its JSON form {'volume': ..., 'node': ...}."""
    if value is None or isinstance(value, WorkingDirectory):
        return value
    if isinstance(value, Mapping) and set(value) <= {"volume", "node"}:
        volume, node = value.get("volume"), value.get("node")
        if isinstance(volume, str) and volume and (node is None or isinstance(node, str)):
            return WorkingDirectory(volume, node)
    raise WorkdirError(
        "Invalid 'workdir': it must be created with graderq.client.working_directory()"
    )
