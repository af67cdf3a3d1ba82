"""Fixtures for the attack tests, against the real Docker engine (nothing skips).

Each attack must be contained, must leave the engine working (the tests check that
themselves) and must leave nothing behind: the integration tests' fixtures fail a test
that leaves a container or volume labelled `graderq` of this process.
"""

from __future__ import annotations

import pytest

import graderq
from tests.attacks.support import attack_profiles
from tests.integration.conftest import docker_client, nothing_left_behind, pace
from tests.integration.support import make_settings

__all__ = ["docker_client", "engine", "nothing_left_behind", "pace"]


@pytest.fixture
def engine() -> graderq.Engine:
    """An engine with the shipped profiles and the attack profiles, on the local engine."""
    return graderq.Engine(profiles=attack_profiles(), settings=make_settings())
