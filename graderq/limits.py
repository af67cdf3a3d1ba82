"""Resource limits: the model, epicbox's merge rules and the operator's ceilings.

A request's limits merge over the defaults exactly as in epicbox: names not given take
the default, and when `realtime` is not given it becomes 5 x `cputime`. `processes`
of None or -1 means unlimited. Ceilings reject, never clamp: a grader must know the
limit its submission really ran under.

A profile's own limits sit between the two: `profile_defaults` lays them over the
operator's defaults (request > profile > operator), and `lower_ceilings` lets a
profile's ceilings lower, never raise, the operator's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from graderq.errors import LimitError

CPU_TO_REAL_TIME_FACTOR = 5
MIB = 1024 * 1024

LIMIT_NAMES = (
    "cputime",
    "realtime",
    "memory",
    "processes",
    "file_size",
    "output",
    "disk",
    "io_write",
    "io_iops",
)


class Limits(BaseModel):
    """One complete set of limits; None means unlimited (except `output`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cputime: float | None = 1
    """CPU seconds (RLIMIT_CPU); exceeding it is a timeout."""
    realtime: float | None = 5
    """Wall-clock seconds; the container is killed when they pass."""
    memory: int | None = 64
    """Megabytes of memory, swap included; exceeding it is oom_killed."""
    processes: int | None = 64
    """The container's pids limit; None or -1 is unlimited."""
    file_size: int | None = None
    """Bytes one file may reach (RLIMIT_FSIZE)."""
    output: int = 8 * MIB
    """Bytes kept of stdout and of stderr each; beyond them the sandbox is killed."""
    disk: int | None = 256
    """Megabytes of each file system the sandbox may write (/sandbox, /tmp); a full one
    fails writes with ENOSPC. None: unbounded, and the profile's root is writable."""
    io_write: float | None = 50
    """Megabytes per second the sandbox may write to its disk (/sandbox), throttled."""
    io_iops: int | None = 1000
    """Reads and writes per second the sandbox may issue to its disk, each, throttled."""

    @field_validator(
        "cputime",
        "realtime",
        "memory",
        "file_size",
        "output",
        "disk",
        "io_write",
        "io_iops",
        mode="before",
    )
    @classmethod
    def _number(cls, value: Any) -> Any:
        if value is None:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number, not {type(value).__name__}")
        if value <= 0:
            raise ValueError("must be positive")
        return value

    @field_validator("processes", mode="before")
    @classmethod
    def _processes(cls, value: Any) -> Any:
        if value is None or value == -1:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be an integer, None or -1, not {value!r}")
        if value <= 0:
            raise ValueError("must be positive, or None or -1 for unlimited")
        return value

    def rounded_cputime(self) -> int | None:
        """RLIMIT_CPU takes whole seconds; round up so a limit is never tightened."""
        if self.cputime is None:
            return None
        return max(1, int(-(-self.cputime // 1)))


class Ceilings(BaseModel):
    """The operator's ceilings: a request above one is refused. None: no ceiling."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cputime: float | None = None
    realtime: float | None = None
    memory: int | None = None
    processes: int | None = None
    file_size: int | None = None
    output: int | None = None
    disk: int | None = None
    io_write: float | None = None
    io_iops: int | None = None


def check_names(limits: Mapping[str, Any]) -> None:
    """Reject a limit name graderq does not know, naming it."""
    unknown = sorted(set(limits) - set(LIMIT_NAMES))
    if unknown:
        raise LimitError(
            f"unknown limit {', '.join(map(repr, unknown))}; known limits: {', '.join(LIMIT_NAMES)}"
        )


def merge(
    limits: Mapping[str, Any] | None,
    defaults: Limits | None = None,
    ceilings: Ceilings | None = None,
) -> Limits:
    """Merge `limits` over `defaults` (epicbox's rules) and check them against `ceilings`."""
    defaults = defaults or Limits()
    if limits is None:
        merged = defaults
    else:
        if not isinstance(limits, Mapping):
            raise LimitError(f"limits must be a dict, not {type(limits).__name__}")
        check_names(limits)
        values = defaults.model_dump() | dict(limits)
        if "realtime" not in limits:
            cputime = values["cputime"]
            is_number = isinstance(cputime, int | float) and not isinstance(cputime, bool)
            if is_number:
                values["realtime"] = cputime * CPU_TO_REAL_TIME_FACTOR
        merged = _validate(values)
    if ceilings is not None:
        check_ceilings(merged, ceilings)
    return merged


def _validate(values: Mapping[str, Any]) -> Limits:
    try:
        return Limits.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        raise LimitError(f"limit {name!r} {message} (got {error.get('input')!r})") from None


def check_ceilings(limits: Limits, ceilings: Ceilings) -> None:
    """Raise LimitError for the first limit above its ceiling (None exceeds any ceiling)."""
    for name in LIMIT_NAMES:
        cap = getattr(ceilings, name)
        if cap is None:
            continue
        value = getattr(limits, name)
        if value is None or value > cap:
            shown = "unlimited" if value is None else repr(value)
            raise LimitError(f"limit {name!r} is {shown}, above the operator's ceiling of {cap!r}")


def profile_defaults(defaults: Limits, overrides: Mapping[str, Any] | None) -> Limits:
    """The operator's defaults with a profile's own limits merged over them (epicbox's
    rules: a profile's cputime without a realtime gives it 5 x cputime)."""
    return defaults if not overrides else merge(overrides, defaults)


def lower_ceilings(ceilings: Ceilings, lower: Mapping[str, Any] | None) -> Ceilings:
    """The operator's ceilings, each lowered to a profile's where that one is lower.

    A profile's ceiling above the operator's, or None, leaves the operator's in force.
    """
    if not lower:
        return ceilings
    check_names(lower)
    values = ceilings.model_dump()
    for name, cap in Ceilings.model_validate(lower).model_dump(exclude_none=True).items():
        values[name] = cap if values[name] is None else min(values[name], cap)
    return Ceilings.model_validate(values)
