"""The docker-py API client of one daemon: connecting to it, and what its failures mean."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import docker
import docker.errors
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ReadTimeout, RequestException

from graderq.errors import DockerError, DockerUnavailable

LOCAL = "http+docker://local"
"""docker-py's base URL for a daemon on a Unix socket of this machine."""


@contextmanager
def engine_errors(action: str, image: str | None = None) -> Iterator[None]:
    """Turn every failure of the engine into DockerError with a helpful message."""
    try:
        yield
    except docker.errors.ImageNotFound as exc:
        raise DockerError(
            f"{action}: image {image!r} is not on the Docker engine; build it with "
            "`graderq images build` (or `bash workers/images/build.sh`) or pull it"
        ) from exc
    except (RequestsConnectionError, ReadTimeout, ConnectionError, FileNotFoundError) as exc:
        raise DockerUnavailable(f"{action}: the Docker engine is unreachable: {exc}") from exc
    except docker.errors.DockerException as exc:
        if isinstance(exc.__cause__, RequestsConnectionError | ConnectionError):
            raise DockerUnavailable(f"{action}: {exc}") from exc
        raise DockerError(f"{action}: {exc}") from exc
    except (RequestException, OSError) as exc:
        raise DockerError(f"{action}: {exc}") from exc


def connect(base_url: str | None, timeout: float) -> docker.APIClient:
    """A client of the daemon at `base_url` (None: DOCKER_HOST or the socket)."""
    with engine_errors("cannot reach the Docker engine"):
        options: dict[str, Any] = docker.utils.kwargs_from_env()
        if base_url:
            options = {"base_url": base_url}
        api = docker.APIClient(timeout=timeout, **options)
    if is_local(api):
        api.trust_env = False  # a local socket: no proxy lookup per call
    return api


def is_local(api: docker.APIClient) -> bool:
    """Whether the daemon is on this machine (a Unix socket)."""
    return api.base_url.startswith(LOCAL)


def kill(api: docker.APIClient, container: str) -> None:
    """Kill a container; one that has stopped or is gone already is fine."""
    try:
        api.kill(container)
    except docker.errors.APIError as exc:
        if exc.status_code not in (404, 409):
            raise


def inspect_and_remove(api: docker.APIClient, container: str) -> dict[str, Any] | None:
    """Inspect, then remove a container; None if it is gone or someone else removes it."""
    try:
        found: dict[str, Any] = api.inspect_container(container)
    except docker.errors.NotFound:
        return None
    try:
        api.remove_container(container, v=True, force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if exc.status_code != 409 or "in progress" not in str(exc):
            raise
        return None  # its remover cleans up after it
    return found
