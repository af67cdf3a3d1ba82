"""Tar archives of a sandbox's files: written into /sandbox (streamed), and read back."""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Iterator, Sequence

from graderq.request import SandboxFile, implied_directories


def untar(archive: bytes) -> list[SandboxFile]:
    """The regular files of `archive` (a tar of a folder), named relative to it; a file
    whose owner may execute it is `executable`. Links and devices are left out."""
    files = []
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
        for member in tar:
            if not member.isreg():
                continue
            name = member.name.removeprefix("./")
            if "/" in name and name.split("/", 1)[0] in (".", ""):
                continue
            extracted = tar.extractfile(member)
            if extracted is None:
                continue
            content = extracted.read()
            executable = bool(member.mode & 0o100)
            files.append(SandboxFile(name=name, content=content, executable=executable))
    return files


def tar(files: Sequence[SandboxFile], uid: int = 0, gid: int = 0) -> Iterator[bytes]:
    """A tar of `files`, streamed entry by entry: regular files 0664 (0775 if
    executable) of `uid` and `gid`, the identity the sandbox runs as, so that it (and
    every later run of its workdir) may rewrite, chmod and remove them; the
    directories they imply 0777.

    Nothing but one entry's header is built at a time, and each directory once, so the
    worker's memory stays at the request's own size whatever its names (docker-py sends
    an iterable body chunked).
    """
    mtime = int(time.time())
    for directory in implied_directories(files):
        info = tarfile.TarInfo(directory)
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o777, mtime
        info.uid, info.gid = uid, gid
        yield info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
    for file in files:
        info = tarfile.TarInfo(file.name)
        info.size, info.mtime, info.uid, info.gid = len(file.content), mtime, uid, gid
        info.mode = 0o775 if file.executable else 0o664
        yield info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        if file.content:
            yield file.content
            if padding := -len(file.content) % tarfile.BLOCKSIZE:
                yield bytes(padding)
    yield bytes(2 * tarfile.BLOCKSIZE)  # the end of the archive
