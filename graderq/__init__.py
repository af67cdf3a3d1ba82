"""graderq: untrusted code in one-time Docker sandboxes, graded over many hosts.

The top level is epicbox's API, so `import graderq as epicbox` is a drop-in switch.

The tree is the architecture: each layer imports only layers below it, and no module
imports itself back through others (tests/test_layers.py checks both from the imports).

    cli/        the `graderq` command
    service/    the HTTP API, a producer like client/
    client/     what a Python producer imports; it needs no Docker
    queue/      the Celery app, its tasks, the worker that serves them
    engine/     epicbox's API on one Docker host      judging/  verdicts, pure
    sandbox/    one-time containers on one Docker daemon
    ground      the shared modules beside this one: errors, exceptions, settings, keys,
                plain_json, config_files, limits, request, profiles, workdir,
                languages, addresses; they import only each other

Beside the ground, the top level holds the faces: this module and demo (`python -m
graderq.demo`), which may import every layer but service/ and cli/; and the
re-exports, which keep documented paths: tasks, callbacks and app (from queue/).

Layer rules of the faces (checked by tests/test_layers.py):
- may import: ground, engine, judging, queue, client
- never imported by: ground, sandbox, engine, judging, queue, client, service, re-exports
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
