"""A teacher's programs beside a grading: a checker or an interactor, with its compile step.

A program is {'profile_name', 'command', 'files', 'limits', 'compile'}; `compile` is an
optional step {'profile_name', 'command', 'limits'} run once over the files. Checking a
program and naming it (its hash) are pure; workers make it ready (graderq.queue.program_cache).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from graderq.errors import CheckerSpecError, LimitError, RequestError
from graderq.limits import check_names
from graderq.request import check_keys, parse_files

PROGRAM_KEYS = frozenset({"profile_name", "command", "files", "limits", "compile"})
COMPILE_KEYS = frozenset({"profile_name", "command", "limits"})


def parse_program(value: Any, what: str) -> dict[str, Any]:
    """A checked program dict (files as file dicts); CheckerSpecError naming `what`."""
    if not isinstance(value, Mapping):
        raise CheckerSpecError(f"{what} must be a dict with 'profile_name' and 'command'")
    check_keys(value, PROGRAM_KEYS, what, CheckerSpecError)
    program = _step(value, what)
    try:
        files = parse_files(value.get("files") or [])
    except RequestError as exc:
        raise CheckerSpecError(f"{what}: {exc}") from None
    program["files"] = [file.model_dump() for file in files]
    compile_step = value.get("compile")
    if compile_step is not None:
        if not isinstance(compile_step, Mapping) or set(compile_step) - COMPILE_KEYS:
            raise CheckerSpecError(f"{what}['compile'] must be a dict of {sorted(COMPILE_KEYS)}")
        compile_step = _step(compile_step, f"{what}['compile']")
    program["compile"] = compile_step
    return program


def _step(value: Mapping[str, Any], what: str) -> dict[str, Any]:
    for key in ("profile_name", "command"):
        if not isinstance(value.get(key), str) or not value[key]:
            raise CheckerSpecError(f"{what} needs {key!r} (a non-empty str)")
    limits = value.get("limits")
    if limits is not None:
        if not isinstance(limits, Mapping):
            raise CheckerSpecError(f"{what}['limits'] must be a dict")
        try:
            check_names(limits)
        except LimitError as exc:
            raise CheckerSpecError(f"{what}: {exc}") from None
        limits = dict(limits)
    return {"profile_name": value["profile_name"], "command": value["command"], "limits": limits}


def program_hash(program: Mapping[str, Any]) -> str:
    """What identifies a program's ready files: its compile step, its profile and files."""
    digest = hashlib.sha256()
    shape = {
        "compile": program.get("compile"),
        "profile_name": program["profile_name"],
        "files": [
            (file["name"], hashlib.sha256(file["content"]).hexdigest(), file.get("executable"))
            for file in program["files"]
        ],
    }
    digest.update(json.dumps(shape, sort_keys=True).encode())
    return digest.hexdigest()


def reference(program: Mapping[str, Any]) -> dict[str, Any]:
    """What a test's task needs of a program: all but its files, and its hash."""
    return {key: program[key] for key in ("profile_name", "command", "limits")} | {
        "hash": program_hash(program)
    }


def first_line(data: bytes | str, limit: int = 500) -> str:
    """The first non-empty line of a program's message, cut to `limit` characters."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:limit]
    return ""
