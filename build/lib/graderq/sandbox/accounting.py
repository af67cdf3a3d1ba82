"""Measured CPU time and peak memory of a sandbox, from a cgroup that outlives it.

A container's own cgroup vanishes when it stops, taking its counters along. Each
sandbox is therefore created under a parent cgroup of its own (`/graderq/<name>`);
the kernel charges CPU time and memory to every ancestor, so the parent's counters
hold the sandbox's totals after it exits. Works with the cgroupfs driver on cgroup v1
and v2, when this process sees the daemon's cgroup tree (a worker on its Docker host);
elsewhere the figures are None: unknown, never guessed.
"""

from __future__ import annotations

import contextlib
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PARENT = "graderq"
ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Usage:
    cpu_time: float | None
    memory_peak: int | None


class Accounting:
    """Reads and resets the counters of per-sandbox parent cgroups under `root`."""

    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        self.v2 = (root / "cgroup.controllers").exists()

    @staticmethod
    def parent(name: str) -> str:
        """The CgroupParent to create sandbox `name` under."""
        return f"/{PARENT}/{name}"

    def _dirs(self, name: str) -> tuple[Path, Path]:
        if self.v2:
            path = self.root / PARENT / name
            return path, path
        return self.root / "cpuacct" / PARENT / name, self.root / "memory" / PARENT / name

    def supported(self) -> bool:
        if self.v2:
            return True
        return (self.root / "cpuacct").is_dir() and (self.root / "memory").is_dir()

    def begin(self, name: str) -> float:
        """Before a start: reset the memory watermark (v1); return the CPU seconds so far."""
        cpu, memory = self._dirs(name)
        if not self.v2:
            with contextlib.suppress(OSError):
                (memory / "memory.max_usage_in_bytes").write_text("0")
        return self._cpu_seconds(cpu) or 0.0  # no cgroup yet: Docker makes it at start

    def watch(self, name: str, budget: float) -> Callable[[], bool]:
        """A check: has the sandbox used more than `budget` CPU seconds in all?

        RLIMIT_CPU bounds each process; this bounds their sum, so forking does not
        multiply a submission's CPU time.
        """
        cpu, _ = self._dirs(name)

        def over() -> bool:
            used = self._cpu_seconds(cpu)
            return used is not None and used > budget

        return over

    def usage(self, name: str, cpu_before: float | None) -> Usage:
        """CPU seconds since `begin` and the peak memory in bytes, None where unknown."""
        cpu, memory = self._dirs(name)
        total = self._cpu_seconds(cpu)
        cpu_time = None if total is None or cpu_before is None else max(total - cpu_before, 0.0)
        peak_file = memory / ("memory.peak" if self.v2 else "memory.max_usage_in_bytes")
        return Usage(cpu_time, _read_int(peak_file))

    def _cpu_seconds(self, cpu: Path) -> float | None:
        if self.v2:
            try:
                for line in (cpu / "cpu.stat").read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "usage_usec":
                        return int(value) / 1e6
            except OSError:
                return None
            return None
        nanoseconds = _read_int(cpu / "cpuacct.usage")
        return None if nanoseconds is None else nanoseconds / 1e9

    def release(self, name: str) -> None:
        """Remove the sandbox's parent cgroups (once its container is gone)."""
        if self.v2:
            paths = [self.root / PARENT / name]
        else:
            paths = [ctrl / PARENT / name for ctrl in self.root.iterdir() if ctrl.is_dir()]
        for path in paths:
            with contextlib.suppress(OSError):
                path.rmdir()

    def parents(self) -> dict[str, float]:
        """The sandbox parent cgroups on the host: each one's name and when it was made."""
        base = self.root / PARENT if self.v2 else self.root / "memory" / PARENT
        try:
            paths = list(base.iterdir())
        except OSError:  # no sandbox has had a parent yet
            return {}
        found = {}
        for path in paths:
            try:
                status = path.stat()
            except OSError:  # removed while listing
                continue
            if stat.S_ISDIR(status.st_mode):
                found[path.name] = status.st_mtime
        return found


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None
