"""Command-line checkers and interactors: --checker NAME|float:TOL|FILE.cpp, --interactor FILE.cpp.

A C++ file is compiled once per grading in the gcc profile (gcc_compile, then run in
gcc_run), with a testlib.h that sits beside it, if any.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from graderq.judging.comparators import BUILT_IN

CPP_SUFFIXES = (".cpp", ".cc", ".cxx")
COMPILE_LIMITS = {"cputime": 10, "realtime": 30, "memory": 512}


def cpp_program(path: Path) -> dict[str, Any]:
    """A testlib-style program compiled from one C++ file (and a testlib.h beside it)."""
    if path.suffix not in CPP_SUFFIXES:
        kinds = ", ".join(CPP_SUFFIXES)
        raise ValueError(f"{str(path)!r}: a checker or interactor file must be C++ ({kinds})")
    if not path.is_file():
        raise ValueError(f"{str(path)!r} is not a file")
    files = [{"name": path.name, "content": path.read_bytes()}]
    header = path.with_name("testlib.h")
    if header.is_file():
        files.append({"name": "testlib.h", "content": header.read_bytes()})
    binary = path.stem
    return {
        "compile": {
            "profile_name": "gcc_compile",
            "command": f"g++ -O2 -o {binary} {path.name}",
            "limits": COMPILE_LIMITS,
        },
        "profile_name": "gcc_run",
        "command": f"./{binary}",
        "files": files,
    }


def parse_checker(text: str) -> Any:
    """A built-in's name, float:TOLERANCE (absolute and relative), or a C++ file."""
    if text in BUILT_IN:
        return text
    name, colon, tolerance = text.partition(":")
    if name == "float" and colon:
        try:
            bound = float(tolerance)
        except ValueError:
            raise ValueError(f"float:{tolerance}: the tolerance is not a number") from None
        return {"float": {"abs": bound, "rel": bound}}
    path = Path(text)
    if path.suffix in CPP_SUFFIXES or path.exists():
        return cpp_program(path)
    raise ValueError(f"{text!r} is not a checker: {'|'.join(BUILT_IN)}, float:TOL or FILE.cpp")


def checker_option(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return parse_checker(value)
    except (ValueError, OSError) as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def interactor_option(ctx: click.Context, param: click.Parameter, value: Path | None) -> Any:
    if value is None:
        return None
    try:
        return cpp_program(value)
    except (ValueError, OSError) as exc:
        raise click.BadParameter(str(exc), ctx, param) from None
