"""Fixtures for the sandbox engine's integration tests, against the real Docker engine.

Nothing here skips: without a reachable Docker engine or the sandbox images every test
errors, with a message that says what to start or build. After each test, no container
or volume labelled `graderq` that the test made may be left behind.
"""

from __future__ import annotations

from collections.abc import Iterator

import docker
import docker.errors
import pytest

import graderq
import graderq.engine
from tests.integration.stock import build_stock_images
from tests.integration.support import (
    EXTRA_PROFILES,
    OWN_IMAGES,
    Pace,
    graderq_objects,
    make_settings,
    measure_pace,
    remove_object,
)

MEASURED: list[Pace] = []
"""The session's pace, once measured: tests/conftest.py reports it at the end."""


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """A docker-py client of the engine graderq uses; fails the tests, never skips them."""
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(
            f"The Docker engine is not reachable ({exc}). Start it, e.g. "
            "`setsid dockerd >/tmp/graderq-dockerd.log 2>&1 </dev/null &`, then poll "
            "`docker info`.",
            pytrace=False,
        )
    missing = []
    for image in OWN_IMAGES.values():
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            missing.append(image)
    if missing:
        pytest.fail(
            f"sandbox images missing: {', '.join(missing)}; build them with "
            "`bash workers/images/build.sh`",
            pytrace=False,
        )
    build_stock_images(client)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def nothing_left_behind(docker_client: docker.DockerClient) -> Iterator[None]:
    """Fail a test that leaves a graderq container or volume of its own behind."""
    before = set(graderq_objects(docker_client))
    yield
    left = {
        key: labels for key, labels in graderq_objects(docker_client).items() if key not in before
    }
    for key in left:
        remove_object(docker_client, key)  # one leak must not fail the tests after it
    assert not left, f"the test left graderq objects behind: {left}"


@pytest.fixture(scope="session")
def pace(docker_client: docker.DockerClient) -> Pace:
    """How fast this host runs sandboxes (support.Pace), measured once per session: the
    upper bounds on time in the cgroup tests are relative to it, never absolute."""
    if not MEASURED:
        MEASURED.append(measure_pace(graderq.Engine(settings=make_settings())))
    return MEASURED[0]


@pytest.fixture
def engine() -> graderq.Engine:
    """An engine with the shipped profiles (configs/profiles.toml) on the local engine."""
    return graderq.Engine(settings=make_settings())


@pytest.fixture
def extra_engine() -> graderq.Engine:
    """An engine with the test-only profiles: root, networked, missing_image."""
    return graderq.Engine(profiles=EXTRA_PROFILES, settings=make_settings())


@pytest.fixture
def default_engine(engine: graderq.Engine) -> Iterator[graderq.Engine]:
    """Make `engine` the process's default engine for one test and restore the old one
    after, so that graderq.run, create, configure and working_directory are safe to call."""
    previous = graderq.engine.set_engine(engine)
    yield engine
    graderq.engine.set_engine(previous)
