"""Files read back from a sandbox: Docker's tar archive of /sandbox, as SandboxFiles."""

from __future__ import annotations

import io
import tarfile

from graderq.request import SandboxFile


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
