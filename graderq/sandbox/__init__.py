"""One-time sandbox containers on one container engine; knows nothing of Celery or HTTP.

DockerBackend is imported on first use, so that a producer without the `docker`
package can import graderq.

Layer rules (checked by tests/test_layers.py):
- may import: ground
- never imported by: ground, judging, client, service, faces, re-exports
"""

from typing import Any

from graderq.sandbox.backend import Backend
from graderq.sandbox.communicate import Ending
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


def __getattr__(name: str) -> Any:
    if name == "DockerBackend":
        from graderq.sandbox.docker_backend import DockerBackend

        return DockerBackend
    raise AttributeError(f"module 'graderq.sandbox' has no attribute {name!r}")
