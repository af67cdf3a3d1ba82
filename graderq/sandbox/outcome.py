"""What a finished sandbox run reports, and its translation into the result dict."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Any

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
