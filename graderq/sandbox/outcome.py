"""What a finished sandbox run reports, and its translation into the result dict."""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graderq.limits import Limits
from graderq.sandbox.accounting import Usage
from graderq.sandbox.communicate import Ending

KILL_EXIT_CODES = {128 + signal.SIGKILL, 128 + signal.SIGXCPU}


@dataclass(frozen=True)
class Outcome:
    """The raw facts of one run, as a backend observed them."""

    exit_code: int | None
    stdout: bytes
    stderr: bytes
    duration: float | None
    oom_killed: bool
    ending: Ending
    output_truncated: bool = False
    cpu_time: float | None = None
    memory_peak: int | None = None


def to_result(outcome: Outcome) -> dict[str, Any]:
    """epicbox's result dict, plus output_truncated, cpu_time and memory_peak.

    A run graderq killed (realtime passed, output over its cap) has no exit code. So
    has any run whose output passed its cap, whatever ended it: the cap may be passed
    while graderq drains a sandbox it killed for realtime or CPU time, and how much
    arrives before the kill lands must not change what the result says. A process
    killed by SIGKILL or SIGXCPU that the OOM killer did not kill ran out of CPU time:
    that is a timeout, with its exit code kept, as in epicbox; so is a sandbox graderq
    killed because all its processes together used up `cputime`. A sandbox killed because
    the sandbox it was cross-wired with ended the pair has no exit code and no timeout.
    """
    truncated = outcome.output_truncated or outcome.ending is Ending.OUTPUT
    killed_by_graderq = truncated or outcome.ending in (Ending.REALTIME, Ending.PEER)
    exit_code = None if killed_by_graderq else outcome.exit_code
    timeout = outcome.ending in (Ending.REALTIME, Ending.CPU) or (
        exit_code in KILL_EXIT_CODES and not outcome.oom_killed
    )
    return {
        "exit_code": exit_code,
        "stdout": outcome.stdout,
        "stderr": outcome.stderr,
        "duration": outcome.duration,
        "timeout": timeout,
        "oom_killed": outcome.oom_killed,
        "output_truncated": truncated,
        "cpu_time": outcome.cpu_time,
        "memory_peak": outcome.memory_peak,
    }


def oom_killed(
    state: Mapping[str, Any], usage: Usage, limits: Limits, ending: Ending, oom_before: int | None
) -> bool:
    """Whether the kernel OOM-killed the sandbox during this start: Docker says so, the
    cgroup's memory.events counted a kill, or it died by SIGKILL at its memory limit."""
    return (
        bool(state.get("OOMKilled"))
        or _oom_since(oom_before, usage.oom_kills)
        or (ending is Ending.EXITED and _killed_at_memory_limit(state, usage, limits))
    )


def _oom_since(before: int | None, after: int | None) -> bool:
    """Whether the kernel OOM-killed a process of the sandbox during this start.

    A second witness beside Docker's OOMKilled (containerd's event watcher): on cgroup
    v2 the parent cgroup's memory.events counts every kill the kernel made inside.
    """
    return before is not None and after is not None and after > before


def _parse_time(value: str | None) -> datetime | None:
    """Docker's RFC 3339 time with nanoseconds, cut to microseconds."""
    if not value or value.startswith("0001-"):
        return None
    stamp = value.rstrip("Z")
    if "." in stamp:
        whole, fraction = stamp.split(".", 1)
        stamp = f"{whole}.{fraction[:6].ljust(6, '0')}"
    return datetime.fromisoformat(stamp)


def duration(started: str | None, finished: str | None) -> float | None:
    start, end = _parse_time(started), _parse_time(finished)
    if start is None or end is None:
        return None
    return max((end - start).total_seconds(), 0.0)


def _killed_at_memory_limit(state: Mapping[str, Any], usage: Usage, limits: Limits) -> bool:
    """SIGKILLed with its peak at the memory limit: the kernel's OOM killer, even when
    the daemon missed the OOM event (it races the container's exit, and a Go program,
    killed within milliseconds, sometimes wins)."""
    peak, memory = usage.memory_peak, limits.memory
    if state.get("ExitCode") != 128 + signal.SIGKILL or peak is None or memory is None:
        return False
    return peak >= memory * 1024 * 1024
