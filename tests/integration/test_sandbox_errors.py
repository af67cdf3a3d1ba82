"""Bad requests and engine failures: the right error, naming what is wrong, and nothing
left behind on the engine (checked after every test by the nothing_left_behind fixture,
and here for volumes Docker would make without a label)."""

from __future__ import annotations

from typing import Any

import docker
import pytest

import graderq
from graderq.limits import Ceilings
from tests.integration.support import (
    EXTRA_PROFILES,
    MISSING_IMAGE,
    make_settings,
    our_containers,
    volume_exists,
)

pytestmark = pytest.mark.timeout(60)


# --- profiles and workdirs ---------------------------------------------------------------


def test_unknown_profile_is_a_value_error_naming_it(default_engine: graderq.Engine) -> None:
    with pytest.raises(ValueError, match="no_such_profile"):
        graderq.run("no_such_profile", "true")
    with pytest.raises(ValueError, match="no_such_profile"):
        graderq.create("no_such_profile", "true")


@pytest.mark.parametrize("workdir", ["graderq-wd-made-up", {"volume": "x"}, 42])
def test_workdir_of_another_type_is_a_value_error(engine: graderq.Engine, workdir: Any) -> None:
    with pytest.raises(ValueError, match="workdir"):
        engine.run("python", "true", workdir=workdir)


def test_forged_working_directory_is_refused_and_no_volume_is_made(
    engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    forged = graderq.WorkingDirectory("graderq-wd-forged-by-a-test")
    try:
        with pytest.raises(ValueError, match="workdir"):
            engine.run("python", "echo x > f", workdir=forged)
        assert not volume_exists(docker_client, forged.volume)
    finally:
        if volume_exists(docker_client, forged.volume):
            docker_client.api.remove_volume(forged.volume, force=True)


def test_working_directory_used_after_its_block_is_refused(
    engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    with engine.working_directory() as workdir:
        pass
    try:
        with pytest.raises(ValueError, match="workdir"):
            engine.run("python", "echo x > f", workdir=workdir)
        assert not volume_exists(docker_client, workdir.volume), "an unlabelled volume leaked"
    finally:
        if volume_exists(docker_client, workdir.volume):
            docker_client.api.remove_volume(workdir.volume, force=True)


def test_a_plain_volume_is_not_a_working_directory(
    engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    volume = docker_client.volumes.create("graderq-test-plain-volume")
    try:
        with pytest.raises(ValueError, match="workdir"):
            engine.run("python", "true", workdir=graderq.WorkingDirectory(volume.name))
    finally:
        volume.remove(force=True)


# --- files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "named"),
    [
        ([{"name": "", "content": b"x"}], "#0"),
        ([{"name": "ok.txt"}, {"name": "", "content": b"x"}], "#1"),
        ([{"name": "/etc/passwd", "content": b"x"}], "'/etc/passwd'"),
        ([{"name": "../escape.txt", "content": b"x"}], "'../escape.txt'"),
        ([{"name": "a/../../b", "content": b"x"}], "'a/../../b'"),
        ([{"name": "nul\0.txt", "content": b"x"}], r"'nul\x00.txt'"),
        ([{"name": "number.txt", "content": 42}], "'number.txt'"),
        ([{"name": "none.txt", "content": None}], "'none.txt'"),
        ([{"name": "list.txt", "content": ["a"]}], "'list.txt'"),
        ([{"name": "twice.txt"}, {"name": "twice.txt"}], "'twice.txt'"),
    ],
    ids=[
        "empty",
        "empty-second",
        "absolute",
        "dotdot",
        "inner-dotdot",
        "nul",
        "int-content",
        "none-content",
        "list-content",
        "duplicate",
    ],
)
def test_bad_file_is_a_file_error_naming_it(
    engine: graderq.Engine, files: list[dict[str, Any]], named: str
) -> None:
    with pytest.raises(graderq.FileError) as caught:
        engine.run("python", "true", files=files)

    assert isinstance(caught.value, ValueError)
    assert named in str(caught.value)


def test_bad_file_in_create_is_refused_before_any_container(
    engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    with pytest.raises(graderq.FileError, match="evil"):
        engine.create("python", "true", files=[{"name": "/evil", "content": b""}])

    assert not our_containers(docker_client)


# --- limits ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limits", "named"),
    [
        ({"cpu_time": 1}, "cpu_time"),
        ({"cputime": 1, "walltime": 3}, "walltime"),
        ({"cputime": -1}, "cputime"),
        ({"cputime": 0}, "cputime"),
        ({"realtime": -2}, "realtime"),
        ({"memory": -64}, "memory"),
        ({"memory": "64"}, "memory"),
        ({"memory": True}, "memory"),
        ({"cputime": "fast"}, "cputime"),
        ({"processes": -5}, "processes"),
        ({"processes": 2.5}, "processes"),
        ({"file_size": -1}, "file_size"),
        ({"file_size": "1k"}, "file_size"),
        ({"output": 0}, "output"),
        ({"output": [1]}, "output"),
    ],
)
def test_bad_limit_is_a_limit_error_naming_it(
    engine: graderq.Engine, limits: dict[str, Any], named: str
) -> None:
    with pytest.raises(graderq.LimitError) as caught:
        engine.run("python", "true", limits=limits)

    assert isinstance(caught.value, ValueError)
    assert repr(named) in str(caught.value)


def test_limit_above_the_operators_ceiling_is_refused() -> None:
    engine = graderq.Engine(settings=make_settings(limit_ceilings=Ceilings(memory=128)))

    with pytest.raises(graderq.LimitError, match="memory"):
        engine.run("python", "true", limits={"memory": 256})
    assert engine.run("python", "echo ok", limits={"memory": 128})["stdout"] == b"ok\n"


# --- stdin -------------------------------------------------------------------------------


@pytest.mark.parametrize("stdin", [42, ["line"], {"a": 1}, 1.5])
def test_stdin_of_another_type_is_a_type_error(engine: graderq.Engine, stdin: Any) -> None:
    with pytest.raises(TypeError, match="stdin"):
        engine.run("python", "cat", stdin=stdin)
    with engine.create("python", "cat") as sandbox, pytest.raises(TypeError, match="stdin"):
        engine.start(sandbox, stdin=stdin)


# --- the engine --------------------------------------------------------------------------


def test_missing_image_is_a_docker_error_naming_it(
    extra_engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    with pytest.raises(graderq.DockerError, match=MISSING_IMAGE):
        extra_engine.run("missing_image", "true", files=[{"name": "a", "content": b"a"}])
    with pytest.raises(graderq.DockerError, match=MISSING_IMAGE):
        extra_engine.create("missing_image", "true")
    with extra_engine.working_directory() as workdir, pytest.raises(graderq.DockerError):
        extra_engine.run("missing_image", "true", workdir=workdir)

    assert not our_containers(docker_client)


UNREACHABLE = "unix:///nonexistent.sock"


def test_unreachable_engine_is_a_docker_error() -> None:
    engine = graderq.Engine(
        profiles=EXTRA_PROFILES, settings=make_settings(docker_url=UNREACHABLE, docker_timeout=5)
    )

    with pytest.raises(graderq.DockerError):
        engine.run("root", "true")
    with pytest.raises(graderq.DockerError):
        engine.create("root", "true")
    with pytest.raises(graderq.DockerError), engine.working_directory():
        pass


def test_configure_with_an_unreachable_docker_url(default_engine: graderq.Engine) -> None:
    graderq.configure(docker_url=UNREACHABLE)

    with pytest.raises(graderq.DockerError):
        graderq.run("python", "true")


def test_errors_derive_from_graderq_error() -> None:
    for error in (graderq.DockerError, graderq.LimitError, graderq.FileError):
        assert issubclass(error, graderq.GraderqError)
    assert issubclass(graderq.LimitError, ValueError)
    assert issubclass(graderq.FileError, ValueError)
