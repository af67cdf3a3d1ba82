"""Every exception graderq raises, in one tree rooted at GraderqError.

    GraderqError                  (epicbox: exceptions.EpicBoxError)
    ├── RequestError              bad input, refused before any work (a ValueError)
    │   ├── FileError             a file to write is malformed
    │   ├── LimitError            a limit is unknown, malformed, or above a ceiling
    │   ├── ProfileError          an unknown or malformed profile
    │   ├── LanguageError         an unknown language id, or a language request that is
    │   │                         malformed (no source, or commands given as well)
    │   ├── WorkdirError          a malformed workdir handle, or one of another host
    │   ├── CallbackError         a callback that is neither a signature nor a URL
    │   ├── TenantError           a malformed tenant name or priority
    │   ├── RequestTooLarge       too many files or bytes
    │   ├── CheckerSpecError      an unknown or malformed checker or interactor
    │   ├── ScoringError          malformed points or groups of a grading
    │   └── RequestTypeError      an argument of the wrong type (also a TypeError)
    ├── DockerError               the Docker engine failed (epicbox: DockerError)
    │   ├── DockerUnavailable     the engine cannot be reached: worth trying again
    │   ├── VolumeInUse           a volume is still used by a container
    │   ├── TooManySandboxes      every host UID of the node's pool is held: try later
    │   └── DiskError             a bounded disk cannot be made, removed, or saw an I/O error
    │       └── TooManyDisks      the node already holds GRADERQ_MAX_DISKS disks
    ├── BackendUnavailable        the broker or the result backend cannot be reached
    ├── Busy                      a tenant has GRADERQ_MAX_QUEUED tasks waiting: try later
    ├── WorkdirLost               the host of a working directory has no live worker
    ├── NoWorker                  no worker answered in time
    ├── ResultTimeout             no result within a wait's timeout (a Celery TimeoutError)
    ├── TooManyDeliveries         a task was started too often; not run again
    ├── UnknownTask               a task id graderq never issued, or whose result expired
    ├── WaitInsideTask            a result waited for inside another Celery task
    ├── ProgramLost               a checker's ready files expired in mid-grading
    ├── WebhookRefused            a webhook POST failed (retried, then logged and counted)
    └── MissingTool               a program graderq needs is not installed

The ValueError and TypeError bases keep epicbox users' `except ValueError` working.
"""

import celery.exceptions


class GraderqError(Exception):
    """Base class of every graderq error."""


class RequestError(GraderqError, ValueError):
    """A request is malformed; it was refused before any container or task existed."""


class FileError(RequestError):
    """A file to write into the sandbox is malformed."""


class LimitError(RequestError):
    """A limit is unknown, malformed, or above the operator's ceiling."""


class ProfileError(RequestError):
    """A profile is unknown, or its definition is malformed."""


class LanguageError(RequestError):
    """A language id is unknown, the catalogue is malformed, or a request names a
    language but no source, or commands of its own as well."""


class WorkdirError(RequestError):
    """A workdir handle is malformed, names no node, or lives on another host."""


class CallbackError(RequestError):
    """A callback is neither a Celery signature nor an http(s) URL."""


class TenantError(RequestError):
    """A tenant name or a priority is malformed."""


class RequestTooLarge(RequestError):
    """A request carries more files or bytes than the operator allows."""


class CheckerSpecError(RequestError):
    """A grading's checker or interactor is unknown or malformed (name, tolerance, program)."""


class ScoringError(RequestError):
    """A grading's points or groups are malformed (negative points, a group with no test)."""


class RequestTypeError(RequestError, TypeError):
    """An argument has the wrong type (stdin, command, a step of a grading)."""


class DockerError(GraderqError):
    """The Docker engine failed: unreachable daemon, missing image, API error."""


class DockerUnavailable(DockerError):
    """The Docker engine cannot be reached (down, restarting): worth trying again."""


class VolumeInUse(DockerError):
    """A volume cannot be removed yet: a container still uses it."""


class TooManySandboxes(DockerError):
    """Every host UID of the machine's pool (GRADERQ_SANDBOX_UID_SLOTS) is held by a
    running sandbox."""


class DiskError(DockerError):
    """A sandbox's size-bounded disk cannot be made or removed (mkfs.ext4, loop devices,
    no room in the disk dir), or it saw an I/O error during a run (the run is void)."""


class TooManyDisks(DiskError):
    """The node already holds GRADERQ_MAX_DISKS disks (workdirs and sandboxes' own)."""


class BackendUnavailable(GraderqError):
    """The broker or the result backend cannot be reached (down, restarting)."""


class Busy(GraderqError):
    """A tenant has GRADERQ_MAX_QUEUED tasks waiting already: submit again later."""


class WorkdirLost(GraderqError):
    """The Docker host that holds a working directory is gone (no live worker)."""


class NoWorker(GraderqError):
    """No worker answered in time (none running, or all busy)."""


class ResultTimeout(GraderqError, celery.exceptions.TimeoutError):
    """No result within the timeout of a wait; also Celery's TimeoutError, which
    `AsyncResult.get(timeout=...)` raises."""


class TooManyDeliveries(GraderqError):
    """The task was started too many times (each start killed its worker?); not run again."""


class UnknownTask(GraderqError):
    """graderq never issued this task id, or its result has expired."""


class WaitInsideTask(GraderqError):
    """A graderq result was waited for inside a Celery task, which would block a worker."""


class ProgramLost(GraderqError):
    """A program's ready files are gone from the result backend (expired mid-grading)."""


class WebhookRefused(GraderqError):
    """A webhook POST failed; `permanent` when trying again cannot help."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class MissingTool(GraderqError):
    """A program graderq needs (debootstrap, docker) is not installed."""
