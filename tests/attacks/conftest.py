"""Fixtures for the attack tests, against the real Docker engine (nothing skips).

Each attack must be contained, must leave the engine working (the tests check that
themselves) and must leave nothing behind: after each test no container or volume
labelled `graderq` of this process may remain.
"""

from __future__ import annotations

from collections.abc import Iterator

import docker
import docker.errors
import pytest

import graderq
from tests.attacks.support import attack_profiles
from tests.integration.support import (
    GCC_IMAGE,
    PYTHON_IMAGE,
    graderq_objects,
    make_settings,
    remove_object,
)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """A client of the engine graderq uses; fails the tests (never skips) without it."""
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"The Docker engine is not reachable ({exc}); start it", pytrace=False)
    for image in (PYTHON_IMAGE, GCC_IMAGE):
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            pytest.fail(f"sandbox image {image} missing: `bash workers/images/build.sh`")
    yield client
    client.close()


@pytest.fixture(autouse=True)
def nothing_left_behind(docker_client: docker.DockerClient) -> Iterator[None]:
    """Fail a test that leaves a graderq container or volume of its own behind."""
    before = set(graderq_objects(docker_client))
    yield
    left = {k: v for k, v in graderq_objects(docker_client).items() if k not in before}
    for key in left:
        remove_object(docker_client, key)
    assert not left, f"the attack left graderq objects behind: {left}"


@pytest.fixture
def engine() -> graderq.Engine:
    """An engine with the shipped profiles and the attack profiles, on the local engine."""
    return graderq.Engine(profiles=attack_profiles(), settings=make_settings())
