"""One-time sandbox containers on one container engine; knows nothing of Celery."""

from graderq.sandbox.backend import Backend
from graderq.sandbox.communicate import Ending
from graderq.sandbox.docker_backend import DockerBackend
from graderq.sandbox.fake_backend import FakeBackend
from graderq.sandbox.outcome import Outcome, to_result
from graderq.sandbox.spec import ContainerSpec

__all__ = [
    "Backend",
    "ContainerSpec",
    "DockerBackend",
    "Ending",
    "FakeBackend",
    "Outcome",
    "to_result",
]
