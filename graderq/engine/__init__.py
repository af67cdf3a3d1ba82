"""The engine: epicbox's API over the sandbox layer, on one Docker host.

An Engine (engine.py) holds the profiles, the settings and one sandbox backend. The
functions here act on the process's default engine, which `configure` changes, so
`import graderq as epicbox` is all an epicbox user has to change. No Celery, no HTTP.

Layer rules (checked by tests/test_layers.py):
- may import: ground, sandbox
- never imported by: ground, sandbox, judging, client, service, re-exports
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from graderq.engine.engine import Engine, Sandbox
from graderq.profiles import ProfileTable
from graderq.sandbox import Backend
from graderq.workdir import WorkingDirectory

__all__ = [
    "Engine",
    "Sandbox",
    "WorkingDirectory",
    "configure",
    "create",
    "destroy",
    "get_engine",
    "run",
    "set_engine",
    "start",
    "working_directory",
]

_default: Engine | None = None


def get_engine() -> Engine:
    """The process's default engine, made from the settings on first use."""
    global _default
    if _default is None:
        _default = Engine()
    return _default


def set_engine(engine: Engine | None) -> Engine | None:
    """Make `engine` the process's default (None: a new one from the settings on next
    use); returns the one it replaces, so that a caller can put it back."""
    global _default
    previous, _default = _default, engine
    return previous


def configure(
    profiles: ProfileTable | None = None,
    docker_url: str | None = None,
    *,
    backend: Backend | None = None,
) -> None:
    """Set the default engine's profiles, Docker URL or backend (epicbox's configure)."""
    get_engine().configure(profiles, docker_url, backend)


def create(
    profile_name: str,
    command: str | None = None,
    files: Iterable[Mapping[str, Any]] | None = None,
    limits: Mapping[str, Any] | None = None,
    workdir: WorkingDirectory | None = None,
) -> Sandbox:
    """Create a sandbox on the default engine (see Engine.create)."""
    return get_engine().create(profile_name, command, files, limits, workdir)


def start(sandbox: Sandbox, stdin: bytes | str | None = None) -> dict[str, Any]:
    """Start a created sandbox and wait for its result (see Engine.start)."""
    return sandbox.engine.start(sandbox, stdin)


def destroy(sandbox: Sandbox) -> None:
    """Kill and remove a sandbox."""
    sandbox.engine.destroy(sandbox)


def run(
    profile_name: str,
    command: str | None = None,
    files: Iterable[Mapping[str, Any]] | None = None,
    stdin: bytes | str | None = None,
    limits: Mapping[str, Any] | None = None,
    workdir: WorkingDirectory | None = None,
) -> dict[str, Any]:
    """Run one command in a one-time sandbox on the default engine (see Engine.run)."""
    return get_engine().run(profile_name, command, files, stdin, limits, workdir)


def working_directory(disk: int | None = None) -> Iterator[WorkingDirectory]:
    """`with graderq.working_directory() as workdir:` a volume shared by runs, a disk
    of `disk` megabytes (None: the default `disk` limit)."""
    return get_engine().working_directory(disk)
