"""Host identities: every sandbox running on a machine has a host UID of its own.

The kernel counts some quotas per host user, whatever the container: inotify instances
(fs.inotify.max_user_instances), POSIX message-queue bytes (RLIMIT_MSGQUEUE), pending
signals (RLIMIT_SIGPENDING, which timer_create needs too). Sandboxes that shared a UID
shared them, so one could take them all from the others. Docker's userns-remap is per
daemon, not per container, so graderq keeps a pool of UIDs instead:

- slot `s` (0 <= s < slots) is host UID `base + 1 + s`; every sandbox has the group
  `base`, the pool's one GID;
- a slot is taken by flock(2) on `<lock_dir>/<s>.lock`, shared by every process of the
  machine (the UIDs are the kernel's, so two Docker daemons on one machine share the
  pool too), held by the process that created the sandbox for the sandbox's life, and
  released when it destroys the sandbox (after the container is gone); a crashed
  process's locks die with it;
- the lock file names the slot's last holder, and a new holder checks that it is gone
  (one inspect): a slot whose container outlived its process (a crash, or a removal
  that failed; the janitor removes it later) is skipped, so a UID never runs in two
  containers at once, whatever went wrong before.

A working directory has a UID of its own too, for its whole life: every run of it is
that UID, so each run may read, rewrite and remove whatever an earlier run left, with
whatever modes it chose (umask 077, mkstemp's 0600, `mktemp -d`'s 0700, a chmod).
Why this and not a UID per run with a shared group (the old design): a private file
of one run was lost to the next; and why not a fix-up after each run: it would walk
every file of the disk after every run, and a run killed midway would skip it. The
workdir's slot is reserved by its record alone (`workdir NODE VOLUME EXPIRES`), not
by a lock, since the workdir outlives the process that made it and is used by
several: a taker skips the slot while that volume exists on this node's daemon, so
the slot is free again once the volume is removed, by its owner or by the janitor
(an expired or abandoned workdir), even after a crash. A workdir of another daemon on
this machine cannot be inspected from here: its slot is kept until its expiry plus
FOREIGN_GRACE, by when that daemon's janitor has removed it. The runs of one workdir
share its UID (they work on one submission); still each run takes a slot of its own
too, for its network (networks.py), and no two workdirs or run-alone sandboxes ever
share a UID. A workdir holds its slot for its life: GRADERQ_SANDBOX_UID_SLOTS must
exceed the workdirs a machine holds plus the sandboxes it runs at once.
"""

from __future__ import annotations

import errno
import fcntl
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from graderq.errors import DockerError, DockerUnavailable, TooManySandboxes

LOCK_DIR = Path("/run/graderq/uids")
HOLDER_BYTES = 256
WORKDIR_HOLDER = "workdir"
"""The first word of the record of a slot that a working directory holds."""
FOREIGN_GRACE = 3600.0
"""Seconds past its expiry that another daemon's workdir keeps its slot."""


def workdir_record(node: str, volume: str, expires: float) -> str:
    """The record of a slot held by the working directory `volume` of daemon `node`."""
    return f"{WORKDIR_HOLDER} {node} {volume} {int(expires)}"


@dataclass(frozen=True)
class Identity:
    """One sandbox's host identity: its slot, UID and the pool's GID."""

    slot: int
    uid: int
    gid: int

    @property
    def user(self) -> str:
        """Docker's User field: numeric, so no name in the image's /etc/passwd is needed."""
        return f"{self.uid}:{self.gid}"


class Identities:
    """The pool of `slots` UIDs above `base` on this machine, locked under `lock_dir`.

    `in_use(name)` says whether the container `name` still exists, `volume_exists(name)`
    whether the volume does, on this node's engine (the Docker backend asks it), and
    `node()` names this node; a slot whose last holder still exists is skipped.
    """

    def __init__(
        self,
        base: int,
        slots: int,
        in_use: Callable[[str], bool],
        lock_dir: Path = LOCK_DIR,
        volume_exists: Callable[[str], bool] | None = None,
        node: Callable[[], str] | None = None,
    ) -> None:
        self.base = base
        self.slots = slots
        self.lock_dir = lock_dir
        self._in_use = in_use
        self._volume_exists = volume_exists or in_use
        self._node = node or (lambda: "")
        self._held: dict[str, tuple[int, Identity]] = {}
        self._lock = threading.Lock()

    def identity(self, slot: int) -> Identity:
        return Identity(slot, self.base + 1 + slot, self.base)

    def slot_identity(self, value: object) -> Identity | None:
        """The identity of a recorded slot number (a workdir's label), or None if it is
        not one of this pool's."""
        try:
            slot = int(str(value))
        except ValueError:
            return None
        return self.identity(slot) if 0 <= slot < self.slots else None

    def take(self, holder: str) -> Identity:
        """A free slot's identity for the container `holder`, held until release(holder)."""
        try:
            self.lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise DockerError(
                f"cannot make the UID pool's lock dir {self.lock_dir}: {exc}; the worker "
                "must run as root on the Docker host"
            ) from exc
        first = random.randrange(self.slots)  # spread processes over the pool
        for offset in range(self.slots):
            slot = (first + offset) % self.slots
            fd = self._lock_slot(slot)
            if fd is None:
                continue
            previous = os.pread(fd, HOLDER_BYTES, 0).decode(errors="replace").strip()
            if previous and self._still_there(previous, fd):
                self._unlock(fd)
                continue
            os.ftruncate(fd, 0)
            os.pwrite(fd, holder.encode(), 0)
            identity = self.identity(slot)
            with self._lock:
                self._held[holder] = (fd, identity)
            return identity
        raise TooManySandboxes(
            f"cannot run the sandbox: all {self.slots} host UIDs of the pool "
            f"({self.base + 1}-{self.base + self.slots}, GRADERQ_SANDBOX_UID_SLOTS) are held "
            "by running sandboxes on this machine; retry later, or raise the number of slots"
        )

    def _lock_slot(self, slot: int) -> int | None:
        """An fd holding the slot's lock, or None if another holder has it."""
        path = self.lock_dir / f"{slot}.lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise DockerError(f"cannot open the UID pool's lock {path}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return None
            raise DockerError(f"cannot lock {path}: {exc}") from exc
        return fd

    def _still_there(self, record: str, fd: int) -> bool:
        """Whether the slot's last holder exists: its container, or its workdir's volume;
        an engine that cannot be reached is raised (no sandbox can run, and "the pool is
        full" would mislead), with the slot `fd` freed.
        """
        try:
            kind, *fields = record.split()
            if kind == WORKDIR_HOLDER and len(fields) == 3:
                node, volume, expires = fields
                if node != self._node():
                    return time.time() < float(expires) + FOREIGN_GRACE
                return self._volume_exists(volume)
            return self._in_use(record)
        except ValueError:
            return True  # a record this version cannot read: never risk sharing a UID
        except DockerUnavailable:
            self._unlock(fd)
            raise
        except DockerError:
            return True  # cannot tell: never risk a UID in two containers

    @staticmethod
    def _unlock(fd: int) -> None:
        """LOCK_UN, not just close: a forked child sharing the fd must not keep the slot."""
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def taken(self, slot: int) -> bool:
        """Whether a take would skip `slot` now: it is locked, or its last holder (a
        container, a workdir) still exists."""
        fd = self._lock_slot(slot)
        if fd is None:
            return True
        previous = os.pread(fd, HOLDER_BYTES, 0).decode(errors="replace").strip()
        held = bool(previous) and self._still_there(previous, fd)  # frees fd if it raises
        self._unlock(fd)
        return held

    def hand_over(self, holder: str, record: str) -> None:
        """Give the slot held for `holder` to a longer-lived holder that `record` names
        (a working directory, workdir_record): the record now keeps the slot, not a lock.
        """
        with self._lock:
            fd, _ = self._held.pop(holder)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, record.encode(), 0)
        finally:
            self._unlock(fd)

    def held(self, holder: str) -> Identity | None:
        with self._lock:
            entry = self._held.get(holder)
        return entry[1] if entry else None

    def release(self, holder: str) -> None:
        """Free the slot held for `holder`; not held is fine. The file keeps the holder's
        name, so the next holder checks that its container is gone.
        """
        with self._lock:
            entry = self._held.pop(holder, None)
        if entry is not None:
            self._unlock(entry[0])
