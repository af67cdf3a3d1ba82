"""The exit codes of the graderq command, and which errors map to which."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from enum import IntEnum

from graderq.errors import GraderqError, RequestError


class ExitCode(IntEnum):
    OK = 0
    """Success: the command ran and exited 0, the submission was accepted, all checks pass."""
    FAILED = 1
    """The sandboxed command failed (non-zero exit, timeout, OOM, output truncated), a
    verdict other than accepted, or a doctor check failed."""
    USAGE = 2
    """Bad usage or bad input: unknown profile, bad file, bad limit, malformed tests."""
    INFRASTRUCTURE = 3
    """Docker, the broker or the result backend failed or is unreachable; a timeout."""
    INTERNAL = 4
    """An unexpected error (a bug in graderq); the traceback is printed."""
    INTERRUPTED = 130
    """Stopped by Ctrl-C."""


EPILOG = """\b
Exit codes:
  0  success: exit code 0, verdict accepted, every check passes
  1  the sandboxed command failed (non-zero exit, timeout, OOM, output
     truncated), a verdict other than accepted, or a doctor check failed
  2  bad usage or bad input (unknown profile, bad file, limit or tests)
  3  infrastructure error: Docker, broker or result backend unreachable
     or failing, or no result in time
  4  unexpected error (a bug: the traceback is printed)
"""

# Third-party errors that mean a service failed; looked up only when their module is
# already loaded (an exception of that module cannot exist otherwise), so that
# `graderq run` does not import Celery just to classify errors.
_SERVICE_ERRORS = {
    "celery.exceptions": ("CeleryError",),
    "billiard.exceptions": ("TimeLimitExceeded", "SoftTimeLimitExceeded", "WorkerLostError"),
    "kombu.exceptions": ("KombuError",),
    "redis.exceptions": ("RedisError",),
    "amqp.exceptions": ("AMQPError",),
    "docker.errors": ("DockerException",),
    "requests.exceptions": ("RequestException",),
}


def _service_errors() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = [OSError]
    for module_name, names in _SERVICE_ERRORS.items():
        module = sys.modules.get(module_name)
        found.extend(getattr(module, name) for name in names if hasattr(module, name))
    return tuple(found)


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit code for an error that ended a command."""
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    if isinstance(exc, RequestError):
        return ExitCode.USAGE
    if isinstance(exc, (GraderqError, *_service_errors())):
        return ExitCode.INFRASTRUCTURE
    if any(isinstance(cause, _service_errors()) for cause in _causes(exc)):
        return ExitCode.INFRASTRUCTURE  # e.g. Celery's RuntimeError over a refused connection
    return ExitCode.INTERNAL


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exceptions `exc` was raised from or while handling, nearest first."""
    seen = {id(exc)}
    cause = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        yield cause
        cause = cause.__cause__ or cause.__context__
