"""Hostile file names: deep and long names that would exhaust the worker building the
request's tar, and names that are both a file and a directory."""

from __future__ import annotations

import time

import docker
import pytest

import graderq
from graderq.errors import FileError
from graderq.request import directories_of
from tests.attacks.support import assert_still_works, peak_rss, reset_peak_rss
from tests.integration.support import MIB, our_containers

pytestmark = pytest.mark.timeout(120)


def test_deep_long_names_are_refused_at_once_without_memory(
    engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    """The red team's request: 12 files with 16 KB names (1,024 levels of 15 bytes). On
    the old worker it took 16 s and 1.68 GB before Docker saw anything."""
    deep = "/".join(["d" * 15] * 1024)
    files = [{"name": f"{deep}/f{i}", "content": b"x"} for i in range(12)]
    before = our_containers(docker_client)
    reset_peak_rss()
    baseline = peak_rss()
    started = time.monotonic()
    with pytest.raises(FileError, match=r"more than 4096|levels deep"):
        engine.run("python", "true", files=files)
    elapsed = time.monotonic() - started

    assert elapsed < 0.5, f"refusing took {elapsed:.2f} s"
    assert peak_rss() - baseline < 4 * MIB
    assert our_containers(docker_client) == before, "a container was made for it"
    assert_still_works(engine)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("/".join(["a"] * 65), "65 levels deep, more than the 64 allowed"),
        ("a" * 256, "component longer than 255 bytes"),
        ("é" * 128, "component longer than 255 bytes"),  # 256 bytes in UTF-8
        ("/".join(["b" * 200] * 21), "more than 4096"),
    ],
    ids=["65-deep", "256-byte-component", "256-utf8-bytes", "4221-byte-path"],
)
def test_names_beyond_the_bounds_are_refused(
    engine: graderq.Engine, docker_client: docker.DockerClient, name: str, message: str
) -> None:
    before = our_containers(docker_client)
    with pytest.raises(FileError, match=message):
        engine.run("python", "true", files=[{"name": name, "content": b"x"}])
    assert our_containers(docker_client) == before


def test_implied_directories_count_against_the_request_bounds(engine: graderq.Engine) -> None:
    """64 levels of 60 bytes is a legal name, but 200 of them in different top-level
    directories imply 12,600 directories: more than the 10,000 files allowed."""
    tail = "/".join(["x" * 60] * 62)
    files = [{"name": f"top{i}/{tail}/f"} for i in range(200)]
    with pytest.raises(graderq.RequestTooLarge, match="200 files and 12600 directories"):
        engine.run("python", "true", files=files)


def test_a_deep_legal_request_is_written_in_bounded_memory(engine: graderq.Engine) -> None:
    """100 files 32 levels deep, each in a directory tree of its own: 3,100 directories
    whose names are 3.3 MB in all, and a tar of over 11 MB. The worker streams the tar,
    so its memory grows by well under the request's own size."""
    tail = "/".join(["y" * 60] * 30)
    files = [{"name": f"t{i:03}/{tail}/f", "content": str(i)} for i in range(100)]
    size = sum(len(d) for f in files for d in directories_of(f["name"]))
    size += sum(len(f["name"]) for f in files)
    reset_peak_rss()
    baseline = peak_rss()
    result = engine.run(
        "python",
        f"cat t042/{tail}/f t099/{tail}/f; find . | wc -l",
        files=files,
        limits={"realtime": 60, "cputime": 10},
    )
    grown = peak_rss() - baseline

    assert result["exit_code"] == 0, result
    assert result["stdout"] == b"42993201\n", result  # 3,100 dirs + 100 files + "."
    assert grown < size, f"the worker grew by {grown} bytes for a {size}-byte request"
    assert_still_works(engine)


@pytest.mark.parametrize(
    "names",
    [["a", "a/b"], ["x/y/z", "x/y"], ["same", "same"]],
    ids=["file-then-directory", "directory-then-file", "twice"],
)
def test_conflicting_names_are_refused_naming_the_file(
    engine: graderq.Engine, docker_client: docker.DockerClient, names: list[str]
) -> None:
    """Before, `a` and `a/b` were both accepted and one silently replaced the other."""
    before = our_containers(docker_client)
    files = [{"name": name, "content": name} for name in names]
    conflict = min(names, key=len)
    with pytest.raises(FileError, match=f"'{conflict}' is (also a directory|given twice)"):
        engine.run("python", "true", files=files)
    assert our_containers(docker_client) == before
    assert_still_works(engine)
