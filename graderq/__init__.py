"""graderq: untrusted code in one-time Docker sandboxes, graded over many hosts.

The top level is epicbox's API, so `import graderq as epicbox` is a drop-in switch.
"""

from graderq import exceptions
from graderq.engine import (
    Engine,
    Sandbox,
    WorkingDirectory,
    configure,
    create,
    destroy,
    get_engine,
    run,
    start,
    working_directory,
)
from graderq.errors import (
    BackendUnavailable,
    Busy,
    CallbackError,
    CheckerSpecError,
    DiskError,
    DockerError,
    DockerUnavailable,
    FileError,
    GraderqError,
    LanguageError,
    LimitError,
    MissingTool,
    NoWorker,
    ProfileError,
    ProgramLost,
    RequestError,
    RequestTooLarge,
    RequestTypeError,
    ResultTimeout,
    ScoringError,
    TenantError,
    TooManyDeliveries,
    TooManyDisks,
    TooManySandboxes,
    UnknownTask,
    VolumeInUse,
    WaitInsideTask,
    WebhookRefused,
    WorkdirError,
    WorkdirLost,
)
from graderq.limits import Limits
from graderq.profiles import Profile


def __getattr__(name: str) -> object:
    """`celery -A graderq` looks up `graderq.celery`: the Celery app, imported on demand
    so that `import graderq` (the local engine) does not load Celery."""
    if name == "celery":
        from graderq.queue.app import app

        return app
    raise AttributeError(f"module 'graderq' has no attribute {name!r}")


__all__ = [
    "BackendUnavailable",
    "Busy",
    "CallbackError",
    "CheckerSpecError",
    "DiskError",
    "DockerError",
    "DockerUnavailable",
    "Engine",
    "FileError",
    "GraderqError",
    "LanguageError",
    "LimitError",
    "Limits",
    "MissingTool",
    "NoWorker",
    "Profile",
    "ProfileError",
    "ProgramLost",
    "RequestError",
    "RequestTooLarge",
    "RequestTypeError",
    "ResultTimeout",
    "Sandbox",
    "ScoringError",
    "TenantError",
    "TooManyDeliveries",
    "TooManyDisks",
    "TooManySandboxes",
    "UnknownTask",
    "VolumeInUse",
    "WaitInsideTask",
    "WebhookRefused",
    "WorkdirError",
    "WorkdirLost",
    "WorkingDirectory",
    "configure",
    "create",
    "destroy",
    "exceptions",
    "get_engine",
    "run",
    "start",
    "working_directory",
]
