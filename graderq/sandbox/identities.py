"""Host identities: every sandbox running on a machine has a host UID of its own.

The kernel counts some quotas per host user, whatever the container: inotify instances
(fs.inotify.max_user_instances), POSIX message-queue bytes (RLIMIT_MSGQUEUE), pending
signals (RLIMIT_SIGPENDING, which timer_create needs too). Sandboxes that shared a UID
shared them, so one could take them all from the others. Docker's userns-remap is per
daemon, not per container, so graderq keeps a pool of UIDs instead:

- slot `s` (0 <= s < slots) is host UID `base + 1 + s`; every sandbox has the group
  `base`, the pool's one GID, and runs with umask 002, so what one run of a workdir
  writes (group-writable, group `base`) the next run, another UID, reads and rewrites;
- a slot is taken by flock(2) on `<lock_dir>/<s>.lock`, shared by every process of the
  machine (the UIDs are the kernel's, so two Docker daemons on one machine share the
  pool too), held by the process that created the sandbox for the sandbox's life, and
  released when it destroys the sandbox (after the container is gone); a crashed
  process's locks die with it;
- the lock file names the last container that held the slot, and a new holder checks
  that it is gone (one inspect): a slot whose container outlived its process (a crash,
  or a removal that failed; the janitor removes it later) is skipped, so a UID never
  runs in two containers at once, whatever went wrong before.

Why not a fixed UID per workdir: a workdir lives longer than its runs and is used by
several worker processes, so no one process could hold its UID; and two runs of one
workdir at once would share quotas again.
"""

from __future__ import annotations

import errno
import fcntl
import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from graderq.errors import DockerError, DockerUnavailable, TooManySandboxes

LOCK_DIR = Path("/run/graderq/uids")
HOLDER_BYTES = 256


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

    `in_use(name)` says whether the container `name` still exists (the Docker backend
    asks its engine); a slot whose last holder still exists is skipped.
    """

    def __init__(
        self,
        base: int,
        slots: int,
        in_use: Callable[[str], bool],
        lock_dir: Path = LOCK_DIR,
    ) -> None:
        self.base = base
        self.slots = slots
        self.lock_dir = lock_dir
        self._in_use = in_use
        self._held: dict[str, tuple[int, Identity]] = {}
        self._lock = threading.Lock()

    def identity(self, slot: int) -> Identity:
        return Identity(slot, self.base + 1 + slot, self.base)

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

    def _still_there(self, container: str, fd: int) -> bool:
        """Whether `container` exists; an engine that cannot be reached is raised (no
        sandbox can run, and "the pool is full" would mislead), with the slot `fd` freed.
        """
        try:
            return self._in_use(container)
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
