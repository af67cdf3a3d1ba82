"""Reading graderq's TOML files (configs/profiles.toml, configs/languages.toml): their
[SECTION.NAME] tables, with an error of the caller's kind naming the file at fault."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from graderq.errors import RequestError


def read_toml(path: str | Path, what: str, error: type[RequestError]) -> dict[str, Any]:
    """The TOML file at `path`, parsed; `error` names it as `what` if it is missing or bad."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise error(f"{what} file {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what} file {str(path)!r} is not valid TOML: {exc}") from None


def read_tables(path: str | Path, section: str, error: type[RequestError]) -> dict[str, Any]:
    """The tables under [section] of the TOML file at `path`, in the file's order."""
    tables = read_toml(path, section, error).get(section)
    if not isinstance(tables, dict) or not tables:
        what = "NAME" if section == "profiles" else "ID"
        raise error(f"{section} file {str(path)!r} has no [{section}.{what}] table")
    return tables
