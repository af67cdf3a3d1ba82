"""Validation of what a caller asks to run: files, stdin and command.

Everything here is pure; a bad request is refused before any container exists, with
an error that names the offending file, limit or argument.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from graderq.errors import FileError, RequestError, RequestTooLarge, RequestTypeError

MAX_NAME_BYTES = 255
"""Most bytes of one component of a file name (the kernel's NAME_MAX)."""
MAX_PATH_BYTES = 4096
"""Most bytes of a whole file name (the kernel's PATH_MAX)."""


class SandboxFile(BaseModel):
    """One file written into the working directory before start."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    content: bytes
    executable: bool = False
    """Written with mode 0775 instead of 0664 (a compiled checker read back from a disk)."""

    @field_validator("name", mode="before")
    @classmethod
    def _safe_name(cls, name: Any) -> str:
        if not isinstance(name, str):
            raise ValueError(f"name must be a str, not {type(name).__name__}")
        if not name:
            raise ValueError("name is empty")
        if "\0" in name:
            raise ValueError("name contains a NUL character")
        if name.startswith("/"):
            raise ValueError("name is absolute; names are relative to the working directory")
        parts = name.split("/")
        if ".." in parts:
            raise ValueError("name contains '..'")
        if any(part in ("", ".") for part in parts):
            raise ValueError("name has an empty or '.' component")
        size = len(name.encode(errors="surrogateescape"))
        if size > MAX_PATH_BYTES:
            raise ValueError(f"name is {size} bytes long, more than {MAX_PATH_BYTES}")
        for part in parts:
            if len(part.encode(errors="surrogateescape")) > MAX_NAME_BYTES:
                raise ValueError(
                    f"name has a component longer than {MAX_NAME_BYTES} bytes ({part[:32]!r}...)"
                )
        return name

    @field_validator("content", mode="before")
    @classmethod
    def _bytes_or_str(cls, content: Any) -> bytes:
        if isinstance(content, str):
            return content.encode()
        if isinstance(content, bytes | bytearray | memoryview):
            return bytes(content)
        raise ValueError(f"content must be bytes or str, not {type(content).__name__}")


def parse_files(
    files: Iterable[Any] | None,
    max_files: int | None = None,
    max_bytes: int | None = None,
    max_depth: int | None = None,
) -> list[SandboxFile]:
    """Validate epicbox-style file dicts; the error names the file at fault.

    Given the operator's bounds, the cheap ones come first: the number of files, then
    each name's depth and the bytes so far, file by file. A hostile request is refused
    before the work that grows with its names' depth (finding the directories they
    imply, and names given as both a file and a directory).
    """
    if files is None:
        return []
    if isinstance(files, str | bytes | dict):
        raise FileError("files must be a list of {'name': ..., 'content': ...} dicts")
    items = list(files)
    if max_files is not None and len(items) > max_files:
        raise RequestTooLarge(f"{len(items)} files, more than the {max_files} allowed")
    parsed = []
    size = 0
    for index, item in enumerate(items):
        file = _parse_file(item, index)
        depth = file.name.count("/") + 1
        if max_depth is not None and depth > max_depth:
            raise FileError(
                f"file {file.name[:64]!r}...: {depth} levels deep, more than the "
                f"{max_depth} allowed"
            )
        size += len(file.content) + len(file.name.encode(errors="surrogateescape"))
        if max_bytes is not None and size > max_bytes:
            more = " or more" if index < len(items) - 1 else ""
            raise RequestTooLarge(f"files: {size} bytes{more}, more than the {max_bytes} allowed")
        parsed.append(file)
    names: set[str] = set()
    for file in parsed:
        if file.name in names:
            raise FileError(f"file {file.name!r} is given twice")
        names.add(file.name)
    for file in parsed:
        for directory in directories_of(file.name):
            if directory in names:
                raise FileError(
                    f"file {directory!r} is also a directory (of the file {file.name!r})"
                )
    return parsed


def _parse_file(item: Any, index: int) -> SandboxFile:
    label = _label(item, index)
    if not isinstance(item, dict):
        raise FileError(f"file {label} must be a dict with 'name' and 'content'")
    try:
        return SandboxFile.model_validate({"content": b"", **item})
    except ValidationError as exc:
        error = exc.errors()[0]
        message = error["msg"].removeprefix("Value error, ")
        field = error["loc"][0] if error["loc"] else "file"
        raise FileError(f"file {label}: {field}: {message}") from None


def directories_of(name: str) -> Iterator[str]:
    """The directories that the file `name` implies, outermost first ('a', 'a/b' of 'a/b/c')."""
    end = name.find("/")
    while end != -1:
        yield name[:end]
        end = name.find("/", end + 1)


def implied_directories(files: Iterable[SandboxFile]) -> dict[str, None]:
    """Every directory the files imply, each once, in the order a tar must make them."""
    found: dict[str, None] = {}
    for file in files:
        for directory in directories_of(file.name):
            found.setdefault(directory)
    return found


def _label(item: Any, index: int) -> str:
    name = item.get("name") if isinstance(item, dict) else None
    return repr(name) if isinstance(name, str) and name else f"#{index}"


def parse_stdin(stdin: Any) -> bytes | None:
    """stdin is bytes, str (sent UTF-8 encoded) or None."""
    if stdin is None:
        return None
    if isinstance(stdin, str):
        return stdin.encode()
    if isinstance(stdin, bytes | bytearray | memoryview):
        return bytes(stdin)
    raise RequestTypeError(f"stdin must be bytes or str, not {type(stdin).__name__}")


def parse_command(command: Any) -> str | None:
    """The command is a shell command line, or None for the profile's own."""
    if command is None or isinstance(command, str):
        return command
    raise RequestTypeError(
        f"command must be a str (run by /bin/sh -c), not {type(command).__name__}"
    )


def check_size(
    files: list[SandboxFile], stdin: bytes | None, max_files: int, max_bytes: int
) -> None:
    """Refuse a request over the operator's bounds, saying which and by how much.

    The directories that names imply are files too, and names are bytes: a request's
    size is its contents, its names and its directories' names, which is what writing
    it costs (see the streaming tar in archives.py). Run it on files that parse_files
    checked against the same bounds, so that finding the directories costs little.
    """
    directories = implied_directories(files)
    count = len(files) + len(directories)
    if count > max_files:
        shown = f"{len(files)} files"
        if directories:
            shown += f" and {len(directories)} directories"
        raise RequestTooLarge(f"{shown}, more than the {max_files} allowed")
    names = sum(len(file.name.encode(errors="surrogateescape")) for file in files)
    names += sum(len(directory.encode(errors="surrogateescape")) for directory in directories)
    for what, size in (
        ("files", sum(len(file.content) for file in files) + names),
        ("stdin", len(stdin or b"")),
    ):
        if size > max_bytes:
            raise RequestTooLarge(f"{what}: {size} bytes, more than the {max_bytes} allowed")


def check_keys(
    value: Mapping[str, Any],
    allowed: Iterable[str],
    what: str,
    error: type[Exception] = RequestError,
) -> None:
    """Refuse `value` (a dict named `what`) if it has keys outside `allowed`."""
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise error(f"{what} has unknown keys {unknown}; allowed: {sorted(allowed)}")
