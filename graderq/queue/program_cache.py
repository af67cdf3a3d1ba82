"""A teacher's programs made ready on a worker: compiled once, kept by their hash.

A program's ready files (its files, or what its compile step left in /sandbox) are kept
in the result backend's Redis under its hash (graderq.judging.programs.program_hash), so that a
problem's checker is compiled once while the key lives (result_expires), whichever node
grades, and each worker process reads them once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kombu.utils.json import dumps, loads

from graderq import keys
from graderq.errors import ProgramLost
from graderq.judging.programs import first_line, program_hash
from graderq.judging.report import run_failed
from graderq.queue.records import redis_client
from graderq.settings import get_settings

CACHED_PROGRAMS = 16
"""Ready programs a worker process keeps in memory."""
_cache: dict[str, list[dict[str, Any]]] = {}


def prepare(engine: Any, program: Mapping[str, Any], node: str | None) -> str | None:
    """Make a program's ready files available under its hash (compiling it if it has a
    compile step and no ready files are kept yet); an error message if it failed."""
    name = program_hash(program)
    client = redis_client()
    ttl = int(get_settings().result_expires)
    if client.expire(keys.PROGRAM + name, ttl):
        return None
    files = list(program["files"])
    step = program.get("compile")
    if step is not None:
        workdir = engine.open_workdir(node=node)
        try:
            compiled = engine.run(workdir=workdir, files=files, **step)
            if run_failed(compiled):
                return "compile step failed: " + first_line(
                    compiled["stderr"] or compiled["stdout"]
                )
            files = engine.workdir_files(workdir, step["profile_name"])
        finally:
            engine.close_workdir(workdir)
    client.set(keys.PROGRAM + name, dumps(files), ex=ttl)
    _remember(name, files)
    return None


def ready_files(reference: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ready files of a program prepared earlier, from this process's memory or Redis."""
    name = reference["hash"]
    if name not in _cache:
        stored = redis_client().get(keys.PROGRAM + name)
        if stored is None:
            raise ProgramLost(f"the ready files of program {name[:12]} are gone; grade again")
        _remember(name, loads(stored))
    return _cache[name]


def _remember(name: str, files: list[dict[str, Any]]) -> None:
    while len(_cache) >= CACHED_PROGRAMS:
        _cache.pop(next(iter(_cache)))
    _cache[name] = files
