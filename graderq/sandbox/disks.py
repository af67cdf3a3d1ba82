"""Size-bounded disks for sandboxes: ext4 images on loop devices, allocated in full.

This kernel offers no quota for overlay2 or volumes, so a sandbox's writable /sandbox
is a file system of its own, exactly `disk` megabytes: an image file attached to a loop
device, which Docker's local volume driver mounts. A full disk fails the sandbox's
writes with ENOSPC and nothing else.

Disks never lie: an image is allocated in full when it is made (fallocate(2)), so the
host's file system can never fail a write the sandbox's ext4 already accepted (with
sparse images it did: `sync` returned 0, the run exited 0, and the kernel logged
"Buffer I/O error on device loopN"). A disk dir without room refuses the disk up
front with DiskError. A node holds at most `max_disks` images, counted from the disk
dir under a lock file, so every worker process of the node shares the cap. After a
run, IoWatch reads the kernel's log and the ext4 superblock for I/O errors on the
disk's device: any is a DiskError, never a result.

mkfs.ext4 and debugfs run once per size and process: the fresh file system's few
written blocks are kept in memory and copied into each new image (about 100 KB), and
the loop device is attached with ioctl(2), so a disk costs about a millisecond on
the host before Docker's own volume calls.

Images live in `<disk_dir>/<node>/<volume>.img`: the volume's name finds its image,
and a janitor of one Docker daemon touches only its own node's images. This module
holds the host side only (files and loop devices); volumes.py owns a disk's whole life.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import os
import re
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from graderq.errors import DiskError, TooManyDisks

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


LOCK_FILE = ".lock"
"""In a node's folder: held while a new image is counted against the cap and made."""
KMSG = "/dev/kmsg"
EXT4_SYSFS = Path("/sys/fs/ext4")
SETTLE = 2.0
"""Seconds IoWatch waits for Docker to unmount a disk (its last writes) after a run."""
SUPERBLOCK, S_STATE, S_ERROR_COUNT, EXT4_ERROR_FS = 1024, 0x3A, 0x194, 0x0002


def make(path: Path, megabytes: int, max_disks: int | None = None, allocate: bool = True) -> str:
    """Create a `megabytes` disk image at `path`, attach it; return its loop device.

    The image is allocated in full (`allocate=False`, sparse, is for benchmarks and
    tests only). With `max_disks`, refuse a disk beyond that many in `path`'s folder.
    """
    extents = template(megabytes)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path.parent):
            if max_disks is not None:
                held = len(images(path.parent))
                if held >= max_disks:
                    raise TooManyDisks(
                        f"cannot create the sandbox disk {path.name}: this node already holds "
                        f"{held} disks (GRADERQ_MAX_DISKS={max_disks}); retry when runs and "
                        "working directories end, or raise GRADERQ_MAX_DISKS (the disk dir "
                        "needs room for each disk in full)"
                    )
            image = path.open("xb")
    except OSError as exc:
        raise DiskError(f"cannot create the sandbox disk {path}: {exc}; {HINT}") from exc
    try:
        with image:
            if allocate:
                _allocate(image.fileno(), path, megabytes)
            else:
                image.truncate(megabytes * MIB)
            for offset, data in extents:
                os.pwrite(image.fileno(), data, offset)
        return attach(path)
    except BaseException as exc:
        path.unlink(missing_ok=True)
        if isinstance(exc, OSError):  # the host's own disk is full, say
            raise DiskError(f"cannot write the sandbox disk {path}: {exc}") from exc
        raise


def _allocate(fd: int, path: Path, megabytes: int) -> None:
    try:
        os.posix_fallocate(fd, 0, megabytes * MIB)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        free = free_bytes(path.parent) // MIB
        raise DiskError(
            f"cannot create the sandbox disk {path.name}: GRADERQ_DISK_DIR "
            f"({path.parent.parent}) has {free} MB free, not the {megabytes} MB the disk "
            "needs; free space there, give it a larger file system, or lower "
            "GRADERQ_MAX_DISKS"
        ) from exc


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on `folder`, shared by every process of this machine."""
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def free_bytes(path: Path) -> int:
    """The bytes an unprivileged writer may still take on the file system of `path`
    (its nearest existing parent, if `path` is not made yet)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


@dataclass(frozen=True)
class Room:
    """The disk dir's free bytes, the disks a node holds, and what the rest would need."""

    free: int
    held: int
    needed: int
    """Bytes for max_disks - held more disks of the default size."""

    @property
    def low(self) -> bool:
        return self.free < self.needed


def room(disk_dir: Path, node: str, max_disks: int, megabytes: int) -> Room:
    held = len(images(disk_dir / node))
    return Room(free_bytes(disk_dir), held, max(max_disks - held, 0) * megabytes * MIB)


def room_warning(room: Room, disk_dir: Path, max_disks: int, megabytes: int) -> str | None:
    """What to tell an operator whose disk dir lacks room for the disks still allowed."""
    if not room.low:
        return None
    more = max(max_disks - room.held, 0)
    return (
        f"GRADERQ_DISK_DIR {disk_dir} has {room.free // MIB} MB free, less than the "
        f"{room.needed // MIB} MB that {more} more {megabytes} MB disks need "
        f"(GRADERQ_MAX_DISKS={max_disks}, {room.held} held); new disks beyond the room are "
        "refused with DiskError"
    )


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


class IoWatch:
    """I/O errors on one disk's loop device from now on, read from the host after a run.

    ext4 counts only its own errors (s_error_count); a failed write of file data is
    just a line in the kernel's log ("Buffer I/O error on device loopN", "I/O error ...
    writing to inode"), so both are read. The disk's last writes happen when Docker
    unmounts it after the run: errors() waits for that first (up to SETTLE seconds).
    """

    def __init__(self, device: str, image: Path) -> None:
        self.device = device
        self.image = image
        self.name = Path(device).name
        self._pattern = re.compile(rf"\b{re.escape(self.name)}\b")
        try:
            self._kmsg: int | None = os.open(KMSG, os.O_RDONLY | os.O_NONBLOCK)
            os.lseek(self._kmsg, 0, os.SEEK_END)
        except OSError:  # not root, or no /dev/kmsg: the superblock is still read
            self._kmsg = None

    def errors(self) -> list[str]:
        """The I/O errors seen on the disk since the watch began; closes the watch."""
        deadline = time.monotonic() + SETTLE
        while (EXT4_SYSFS / self.name).exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        found = [line for line in self._log() if "error" in line.lower()]
        count = max(superblock_errors(self.image), _mounted_errors(self.name))
        if count:
            found.append(f"its ext4 file system recorded {count} errors")
        return found

    def _log(self) -> list[str]:
        if self._kmsg is None:
            return []
        lines = []
        try:
            while True:
                try:
                    record = os.read(self._kmsg, 8192)
                except BlockingIOError:
                    break
                except BrokenPipeError:  # records overwritten before they were read
                    continue
                if not record:
                    break
                message = record.decode(errors="replace").partition(";")[2].split("\n")[0]
                if self._pattern.search(message):
                    lines.append(message)
        finally:
            os.close(self._kmsg)
            self._kmsg = None
        return lines

    def close(self) -> None:
        if self._kmsg is not None:
            os.close(self._kmsg)
            self._kmsg = None


def _mounted_errors(name: str) -> int:
    """ext4's error count of the device `name` while it is still mounted, else 0."""
    try:
        return int((EXT4_SYSFS / name / "errors_count").read_text())
    except (OSError, ValueError):
        return 0


def superblock_errors(image: Path) -> int:
    """The errors the ext4 file system in `image` recorded (0 if it records none)."""
    try:
        with image.open("rb") as file:
            block = os.pread(file.fileno(), SUPERBLOCK, SUPERBLOCK)
    except OSError:
        return 0
    if len(block) < S_ERROR_COUNT + 4:
        return 0
    (state,) = struct.unpack_from("<H", block, S_STATE)
    (count,) = struct.unpack_from("<I", block, S_ERROR_COUNT)
    return count or int(bool(state & EXT4_ERROR_FS))


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
