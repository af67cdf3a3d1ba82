"""Measured CPU time and peak memory of a sandbox, from a cgroup that outlives it.

A container's own cgroup vanishes when it stops, taking its counters along. Each
sandbox is therefore created under a parent cgroup of its own; the kernel charges CPU
time and memory to every ancestor, so the parent's counters hold the sandbox's totals
after it exits. The parent is named after Docker's cgroup driver:

- cgroupfs: the path `/graderq/<name>`;
- systemd: the slice `<name>.slice` (names are `graderq-<hex>`, so systemd puts it at
  `graderq.slice/graderq-<hex>.slice`).

Works on cgroup v1 (the cpuacct and memory hierarchies) and v2 (the unified tree), when
this process sees the daemon's cgroup tree (a worker on its Docker host); elsewhere the
figures are None: unknown, never guessed. On v2 the peak cannot be reset (kernels
before 6.12), so a second start of one sandbox reports the peak since its creation.
"""

from __future__ import annotations

import contextlib
import shutil
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PARENT = "graderq"
ROOT = Path("/sys/fs/cgroup")
DRIVERS = ("cgroupfs", "systemd")
SLICE = ".slice"


@dataclass(frozen=True)
class Usage:
    cpu_time: float | None
    memory_peak: int | None
    oom_kills: int | None = None
    """OOM kills in the sandbox's cgroup so far (v2's memory.events), None where unknown."""


class Accounting:
    """Reads and resets the counters of per-sandbox parent cgroups under `root`."""

    def __init__(self, root: Path = ROOT, driver: str = "cgroupfs") -> None:
        if driver not in DRIVERS:
            raise ValueError(f"unknown cgroup driver {driver!r}")
        self.root = root
        self.driver = driver
        self.v2 = (root / "cgroup.controllers").exists()

    @property
    def version(self) -> int:
        return 2 if self.v2 else 1

    def parent(self, name: str) -> str:
        """The CgroupParent to create sandbox `name` under."""
        if self.driver == "systemd":
            return f"{name}{SLICE}"
        return f"/{PARENT}/{name}"

    def _relative(self, name: str) -> Path:
        """The parent's path below a hierarchy's root."""
        if self.driver == "systemd":
            return self._base() / f"{name}{SLICE}"
        return self._base() / name

    def _base(self) -> Path:
        """Where every sandbox parent sits, below a hierarchy's root."""
        return Path(f"{PARENT}{SLICE}" if self.driver == "systemd" else PARENT)

    def _dirs(self, name: str) -> tuple[Path, Path]:
        relative = self._relative(name)
        if self.v2:
            path = self.root / relative
            return path, path
        return self.root / "cpuacct" / relative, self.root / "memory" / relative

    def supported(self) -> bool:
        if self.v2:
            return (self.root / "cgroup.procs").exists()
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

    def oom_kills(self, name: str) -> int | None:
        """How many processes the OOM killer killed in the sandbox so far (v2 only)."""
        if not self.v2:
            return None
        _, memory = self._dirs(name)
        return _read_key(memory / "memory.events", "oom_kill")

    def usage(self, name: str, cpu_before: float | None) -> Usage:
        """CPU seconds since `begin` and the peak memory in bytes, None where unknown."""
        cpu, memory = self._dirs(name)
        total = self._cpu_seconds(cpu)
        cpu_time = None if total is None or cpu_before is None else max(total - cpu_before, 0.0)
        peak_file = memory / ("memory.peak" if self.v2 else "memory.max_usage_in_bytes")
        return Usage(cpu_time, _read_int(peak_file), self.oom_kills(name))

    def _cpu_seconds(self, cpu: Path) -> float | None:
        if self.v2:
            usec = _read_key(cpu / "cpu.stat", "usage_usec")
            return None if usec is None else usec / 1e6
        nanoseconds = _read_int(cpu / "cpuacct.usage")
        return None if nanoseconds is None else nanoseconds / 1e9

    def release(self, name: str) -> None:
        """Remove the sandbox's parent cgroups (once its container is gone).

        A systemd slice is a unit: systemd is asked to stop it, so that no unit is left
        behind; the directories are removed by hand if that fails (no systemctl here).
        """
        relative = self._relative(name)
        if self.driver == "systemd" and (systemctl := shutil.which("systemctl")):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(
                    [systemctl, "stop", relative.name],
                    capture_output=True,
                    timeout=10,
                    check=False,
                )
        if self.v2:
            paths = [self.root / relative]
        else:
            paths = [ctrl / relative for ctrl in self.root.iterdir() if ctrl.is_dir()]
        for path in paths:
            with contextlib.suppress(OSError):
                path.rmdir()

    def parents(self) -> dict[str, float]:
        """The sandbox parent cgroups on the host: each one's name and when it was made."""
        base = self.root / self._base() if self.v2 else self.root / "memory" / self._base()
        try:
            paths = list(base.iterdir())
        except OSError:  # no sandbox has had a parent yet
            return {}
        found = {}
        for path in paths:
            name = path.name
            if self.driver == "systemd":
                if not name.endswith(SLICE):
                    continue
                name = name.removesuffix(SLICE)
            try:
                status = path.stat()
            except OSError:  # removed while listing
                continue
            if stat.S_ISDIR(status.st_mode):
                found[name] = status.st_mtime
        return found


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _read_key(path: Path, key: str) -> int | None:
    """The value of `key` in a flat-keyed cgroup file (cpu.stat, memory.events)."""
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        return None
    return None
