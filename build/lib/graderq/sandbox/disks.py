"""Size-bounded disks for sandboxes: sparse ext4 images on loop devices.

This kernel offers no quota for overlay2 or volumes, so a sandbox's writable /sandbox
is a file system of its own, exactly `disk` megabytes: a sparse image file (it takes
host space only as it fills) attached to a loop device, which Docker's local volume
driver mounts. A full disk fails the sandbox's writes with ENOSPC and nothing else.

mkfs.ext4 and debugfs run once per size and process: the fresh file system's few
written blocks are kept in memory and copied into each new image (about 100 KB), and
the loop device is attached with ioctl(2), so a disk costs well under a millisecond
on the host before Docker's own volume calls.

Images live in `<disk_dir>/<node>/<volume>.img`: the volume's name finds its image,
and a janitor of one Docker daemon touches only its own node's images. This module
holds the host side only (files and loop devices); volumes.py owns a disk's whole life.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import os
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from graderq.errors import DiskError

MIB = 1024 * 1024
MKFS = (
    "mkfs.ext4",
    "-q",
    "-F",
    "-b",
    "4096",
    "-i",
    "8192",
    "-m",
    "0",
    "-O",
    "^has_journal,^resize_inode",
    "-E",
    "lazy_itable_init=1,nodiscard",
)
"""No journal (a sandbox's disk needs no crash safety), no reserved blocks, an inode
per 8 KiB: the file count is bounded too."""
PREPARE = b"rmdir lost+found\nsif <2> mode 040777\n"
"""debugfs commands: /sandbox as in the images, world-writable and empty."""
MOUNT_OPTIONS = "nosuid,nodev,noinit_itable"
LOOP_CONTROL = "/dev/loop-control"
LOOP_SYSFS = Path("/sys/block")
LOOP_SET_FD, LOOP_CLR_FD, LOOP_CTL_GET_FREE = 0x4C00, 0x4C01, 0x4C82
HINT = (
    "the worker must run as root on the Docker host, with loop devices, mkfs.ext4 and "
    "debugfs (bash workers/provision.sh); or set the 'disk' limit to None (unbounded)"
)
Extents = tuple[tuple[int, bytes], ...]


def image_path(disk_dir: Path, node: str, volume: str) -> Path:
    return disk_dir / node / f"{volume}.img"


def volume_options(device: str) -> dict[str, str]:
    """Docker local-driver options that mount the disk on `device`."""
    return {"type": "ext4", "device": device, "o": MOUNT_OPTIONS}


def make(path: Path, megabytes: int) -> str:
    """Create a `megabytes` disk image at `path`, attach it; return its loop device."""
    extents = template(megabytes)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        image = path.open("xb")
    except OSError as exc:
        raise DiskError(f"cannot create the sandbox disk {path}: {exc}; {HINT}") from exc
    try:
        with image:
            image.truncate(megabytes * MIB)
            for offset, data in extents:
                os.pwrite(image.fileno(), data, offset)
        return attach(path)
    except BaseException as exc:
        path.unlink(missing_ok=True)
        if isinstance(exc, OSError):  # the host's own disk is full, say
            raise DiskError(f"cannot write the sandbox disk {path}: {exc}") from exc
        raise


@functools.lru_cache(maxsize=16)
def template(megabytes: int) -> Extents:
    """The written blocks of a fresh, prepared `megabytes` file system."""
    with tempfile.TemporaryDirectory(prefix="graderq-disk-") as folder:
        image = Path(folder) / "template.img"
        with image.open("wb") as file:
            file.truncate(megabytes * MIB)
        _run([*MKFS, str(image)])
        _run(["debugfs", "-w", "-f", "-", str(image)], PREPARE)
        return tuple(_extents(image))


def _extents(image: Path) -> Iterable[tuple[int, bytes]]:
    """(offset, data) of every stretch of `image` that is not a hole."""
    with image.open("rb") as file:
        end, offset = os.fstat(file.fileno()).st_size, 0
        while offset < end:
            try:
                offset = os.lseek(file.fileno(), offset, os.SEEK_DATA)
            except OSError as exc:
                if exc.errno == errno.ENXIO:  # only a hole is left
                    return
                raise
            stop = os.lseek(file.fileno(), offset, os.SEEK_HOLE)
            yield offset, os.pread(file.fileno(), stop - offset, offset)
            offset = stop


def attach(path: Path) -> str:
    """Attach the image at `path` to a free loop device; return the device."""
    try:
        control = os.open(LOOP_CONTROL, os.O_RDWR)
        backing = os.open(path, os.O_RDWR)
    except OSError as exc:
        raise DiskError(f"cannot attach {path} to a loop device: {exc}; {HINT}") from exc
    try:
        for _ in range(16):  # another process may take the free device first
            device = f"/dev/loop{fcntl.ioctl(control, LOOP_CTL_GET_FREE)}"
            loop = os.open(device, os.O_RDWR)
            try:
                fcntl.ioctl(loop, LOOP_SET_FD, backing)
                return device
            except OSError as exc:
                if exc.errno != errno.EBUSY:
                    raise
            finally:
                os.close(loop)
        raise OSError(errno.EBUSY, "every free loop device was taken first")
    except OSError as exc:
        raise DiskError(f"cannot attach {path} to a loop device: {exc}; {HINT}") from exc
    finally:
        os.close(backing)
        os.close(control)


def detach(device: str) -> None:
    """Detach a loop device (lazily, if it is still mounted); detached already is fine."""
    try:
        loop = os.open(device, os.O_RDWR)
    except FileNotFoundError:
        return
    try:
        fcntl.ioctl(loop, LOOP_CLR_FD)
    except OSError as exc:
        if exc.errno != errno.ENXIO:  # ENXIO: not attached
            raise DiskError(f"cannot detach {device}: {exc}; {HINT}") from exc
    finally:
        os.close(loop)


def remove(path: Path) -> None:
    """Detach every loop device on the image at `path` and delete it; gone is fine."""
    for device in devices(path):
        detach(device)
    path.unlink(missing_ok=True)


def devices(path: Path) -> list[str]:
    """The loop devices attached to the image at `path`."""
    wanted = str(path)
    return [
        f"/dev/{entry.name}"
        for entry in sorted(LOOP_SYSFS.glob("loop*"))
        if path_of(f"/dev/{entry.name}") == wanted
    ]


def path_of(device: str) -> str | None:
    """The image file behind a loop device, or None when it is detached."""
    backing = LOOP_SYSFS / Path(device).name / "loop" / "backing_file"
    try:
        return backing.read_text().strip().removesuffix(" (deleted)")
    except OSError:
        return None


def images(directory: Path) -> dict[str, float]:
    """The images in `directory`: the name of each one's volume, and its mtime."""
    found = {}
    for image in sorted(directory.glob("*.img")):
        try:
            found[image.stem] = image.stat().st_mtime
        except FileNotFoundError:  # removed since the listing
            continue
    return found


def _run(command: Sequence[str], stdin: bytes | None = None) -> str:
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DiskError(f"cannot run {command[0]}: {exc}; {HINT}") from exc
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
        raise DiskError(f"{command[0]} failed: {message}; {HINT}")
    return done.stdout.decode()
