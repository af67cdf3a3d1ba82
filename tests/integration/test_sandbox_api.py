"""The epicbox API on the real engine: run's result dict, create/start/destroy, working
directories, files, stdin and profiles."""

from __future__ import annotations

import time
from pathlib import Path

import docker
import pytest

import graderq
from tests.integration.support import (
    MIB,
    PYTHON_IMAGE,
    RESULT_KEYS,
    make_settings,
    our_containers,
    pool_gid,
    pooled_uid,
    volume_exists,
)

pytestmark = pytest.mark.timeout(60)

ADD_C = b"""#include <stdio.h>
int main(void) {
    long a, b;
    if (scanf("%ld %ld", &a, &b) != 2) return 2;
    printf("%ld\\n", a + b);
    return 0;
}
"""


# --- run() and its result dict -----------------------------------------------------------


def test_run_returns_every_key_of_the_result(default_engine: graderq.Engine) -> None:
    result = graderq.run("python", "python3 -c 'print(42)'")

    assert set(result) == RESULT_KEYS
    assert result["exit_code"] == 0
    assert result["stdout"] == b"42\n"
    assert result["stderr"] == b""
    assert isinstance(result["duration"], float)
    assert 0 <= result["duration"] < 5
    assert result["timeout"] is False
    assert result["oom_killed"] is False
    assert result["output_truncated"] is False


def test_exit_code_and_streams_are_the_programs(engine: graderq.Engine) -> None:
    result = engine.run("python", "echo out; echo err >&2; exit 3")

    assert result["exit_code"] == 3
    assert result["stdout"] == b"out\n"
    assert result["stderr"] == b"err\n"
    assert isinstance(result["stdout"], bytes)
    assert isinstance(result["stderr"], bytes)
    assert result["timeout"] is False


def test_a_program_that_does_not_exist_exits_127(engine: graderq.Engine) -> None:
    result = engine.run("python", "no-such-program")

    assert result["exit_code"] == 127
    assert b"not found" in result["stderr"]


def test_duration_is_the_time_the_process_ran(engine: graderq.Engine) -> None:
    quick = engine.run("python", "true")
    slow = engine.run("python", "sleep 0.5")

    assert slow["exit_code"] == 0
    assert 0.45 <= slow["duration"] < 3
    assert quick["duration"] < slow["duration"]


def test_command_none_runs_the_profiles_command(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(
        "[profiles.greeter]\n"
        f'docker_image = "{PYTHON_IMAGE}"\n'
        'user = "sandbox"\n'
        'command = "echo hello from the profile"\n'
    )
    engine = graderq.Engine(settings=make_settings(profiles_file=profiles))

    assert engine.run("greeter")["stdout"] == b"hello from the profile\n"
    assert engine.run("greeter", "echo given")["stdout"] == b"given\n"


# --- create / start / destroy ------------------------------------------------------------


def test_create_start_twice_then_destroy(
    default_engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    sandbox = graderq.create("python", "read line; echo got $line")
    try:
        assert sandbox.container in our_containers(docker_client)
        first = graderq.start(sandbox, stdin=b"one\n")
        second = graderq.start(sandbox, stdin="two\n")
    finally:
        graderq.destroy(sandbox)

    assert first["stdout"] == b"got one\n"
    assert second["stdout"] == b"got two\n"
    assert first["exit_code"] == second["exit_code"] == 0
    assert set(second) == RESULT_KEYS
    assert sandbox.container not in our_containers(docker_client)


def test_files_given_to_create_survive_between_starts(engine: graderq.Engine) -> None:
    with engine.create(
        "gcc_compile",
        "cat given; echo run >> log; cat log",
        files=[{"name": "given", "content": "start\n"}],
    ) as sandbox:
        first = engine.start(sandbox)
        second = engine.start(sandbox)

    assert first["stdout"] == b"start\nrun\n"
    assert second["stdout"] == b"start\nrun\nrun\n"


def test_sandbox_context_manager_destroys_even_when_the_block_raises(
    engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    with pytest.raises(RuntimeError, match="boom"), engine.create("python", "true") as sandbox:
        assert sandbox.container in our_containers(docker_client)
        raise RuntimeError("boom")

    assert sandbox.container not in our_containers(docker_client)


def test_destroy_twice_is_fine(engine: graderq.Engine) -> None:
    sandbox = engine.create("python", "true")
    engine.destroy(sandbox)
    engine.destroy(sandbox)


def test_start_of_a_destroyed_sandbox_is_a_docker_error(engine: graderq.Engine) -> None:
    sandbox = engine.create("python", "true")
    engine.destroy(sandbox)

    with pytest.raises(graderq.DockerError):
        engine.start(sandbox)


# --- working directories -----------------------------------------------------------------


def test_compile_once_then_run_many_times_in_a_working_directory(
    default_engine: graderq.Engine,
) -> None:
    with graderq.working_directory() as workdir:
        compiled = graderq.run(
            "gcc_compile",
            "gcc -O2 -o main main.c",
            files=[{"name": "main.c", "content": ADD_C}],
            workdir=workdir,
        )
        assert compiled["exit_code"] == 0, compiled["stderr"]
        limits = {"cputime": 1, "memory": 64}
        runs = [
            graderq.run("gcc_run", "./main", stdin=stdin, limits=limits, workdir=workdir)
            for stdin in ("2 2", b"14 5", "-7 7\n")
        ]

    assert [run["stdout"] for run in runs] == [b"4\n", b"19\n", b"0\n"]
    assert all(run["exit_code"] == 0 for run in runs)


def test_working_directory_is_a_labelled_volume_removed_on_exit(
    engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    with engine.working_directory() as workdir:
        volume = docker_client.volumes.get(workdir.volume)
        labels = volume.attrs["Labels"]
        assert labels["graderq"] == "workdir"
        assert float(labels["graderq.expires"]) > time.time()
        engine.run("python", "echo kept > note", workdir=workdir)
        assert engine.run("python", "cat note", workdir=workdir)["stdout"] == b"kept\n"

    assert not volume_exists(docker_client, workdir.volume)


def test_working_directory_is_removed_when_the_block_raises(
    engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    with pytest.raises(RuntimeError, match="in the block"), engine.working_directory() as workdir:
        engine.run("python", "echo x > f", workdir=workdir)
        raise RuntimeError("in the block")

    assert not volume_exists(docker_client, workdir.volume)


def test_two_working_directories_are_separate(engine: graderq.Engine) -> None:
    with engine.working_directory() as first, engine.working_directory() as second:
        engine.run("python", "echo one > f", workdir=first)
        seen = engine.run("python", "ls", workdir=second)

    assert first.volume != second.volume
    assert seen["stdout"] == b""


# --- files -------------------------------------------------------------------------------


def test_files_land_in_the_sandbox_directory_with_subdirectories(engine: graderq.Engine) -> None:
    files = [
        {"name": "main.py", "content": b"import pkg.util\nprint(pkg.util.VALUE)\n"},
        {"name": "pkg/__init__.py", "content": b""},
        {"name": "pkg/util.py", "content": "VALUE = 'deep'\n"},
        {"name": "data/a/b/c.txt", "content": "c"},
    ]
    result = engine.run("python", "pwd; python3 main.py; cat /sandbox/data/a/b/c.txt", files=files)

    assert result["exit_code"] == 0, result["stderr"]
    assert result["stdout"] == b"/sandbox\ndeep\nc"


def test_str_content_is_utf8_and_bytes_content_is_kept_exactly(engine: graderq.Engine) -> None:
    text = "héllo ✓ 世界\n"
    binary = bytes(range(256))
    files = [{"name": "text.txt", "content": text}, {"name": "blob.bin", "content": binary}]

    assert engine.run("python", "cat text.txt", files=files)["stdout"] == text.encode("utf-8")
    assert engine.run("python", "cat blob.bin", files=files)["stdout"] == binary


def test_files_are_readable_by_the_sandbox_user(engine: graderq.Engine) -> None:
    result = engine.run(
        "gcc_compile",
        "id -u; cat in/secret; echo x > in/new && echo wrote",
        files=[{"name": "in/secret", "content": "s\n"}],
    )

    uid, rest = result["stdout"].split(b"\n", 1)
    pooled_uid(uid)
    assert rest == b"s\nwrote\n", result


# --- stdin -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [
        (b"raw \x00\xff bytes", b"raw \x00\xff bytes"),
        ("texte accentué ✓", "texte accentué ✓".encode()),
        (bytearray(b"array"), b"array"),
        (None, b""),
        (b"", b""),
    ],
    ids=["bytes", "str", "bytearray", "none", "empty"],
)
def test_stdin_round_trips(engine: graderq.Engine, stdin: object, expected: bytes) -> None:
    result = engine.run("python", "cat", stdin=stdin)

    assert result["stdout"] == expected
    assert result["exit_code"] == 0


def test_large_stdin_round_trips(engine: graderq.Engine) -> None:
    data = bytes(range(256)) * (5 * MIB // 256)

    counted = engine.run("python", "wc -c", stdin=data)
    echoed = engine.run("python", "cat", stdin=data)

    assert counted["stdout"].strip() == str(len(data)).encode()
    assert echoed["stdout"] == data
    assert echoed["output_truncated"] is False


@pytest.mark.timeout(40)
@pytest.mark.parametrize("command", ["true", "sleep 0.3; echo done"])
def test_stdin_the_program_does_not_read_does_not_hang(
    engine: graderq.Engine, command: str
) -> None:
    started = time.monotonic()
    result = engine.run("python", command, stdin=b"x" * (5 * MIB), limits={"realtime": 30})
    elapsed = time.monotonic() - started

    assert result["timeout"] is False, result
    assert result["exit_code"] == 0, result
    assert result["stdout"] in (b"", b"done\n"), result
    assert elapsed < 20, f"took {elapsed:.1f} s"


# --- profiles ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("engine_fixture", "profile"),
    [
        ("engine", "python"),
        ("engine", "gcc_compile"),
        ("engine", "gcc_run"),
        ("extra_engine", "root"),
    ],
)
def test_every_profile_runs_as_a_pooled_host_uid(
    request: pytest.FixtureRequest, engine_fixture: str, profile: str
) -> None:
    """A host UID of its own (identities.py), whatever user the profile names, root too:
    numeric, so the image has no name for it; the pool's group only; HOME is /sandbox
    and the umask 002, so the next run of a workdir (another UID) may rewrite its files."""
    engine = request.getfixturevalue(engine_fixture)
    result = engine.run(profile, "id -u; id -g; id -G; echo $HOME; umask; id -un || echo no-name")

    uid, gid, groups, home, umask, name, no_name = result["stdout"].decode().splitlines()
    pooled_uid(uid)
    assert (int(gid), groups, home, umask) == (pool_gid(), str(pool_gid()), "/sandbox", "0002")
    assert (name, no_name) == (uid, "no-name"), result


def test_given_files_are_rewritable_by_every_run_of_a_workdir(engine: graderq.Engine) -> None:
    """Files of `files=` belong to the pool's group, mode 0664 (0775 if executable):
    each run of a workdir is another UID, and each may rewrite them in place."""
    with engine.working_directory() as workdir:
        given = [{"name": "data/log", "content": b"given\n"}]
        first = engine.run("python", "echo first >> data/log", files=given, workdir=workdir)
        assert first["exit_code"] == 0, first
        second = engine.run("python", "echo second >> data/log; cat data/log", workdir=workdir)
        assert second["stdout"] == b"given\nfirst\nsecond\n", second
        mode = engine.run("python", "stat -c '%a %g' data/log", workdir=workdir)["stdout"]
        assert mode.split() == [b"664", str(pool_gid()).encode()], mode


def test_profiles_from_a_toml_file(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(
        "[profiles.py_root]\n"
        f'docker_image = "{PYTHON_IMAGE}"\n'
        "read_only = true\n"
        "[profiles.py_user]\n"
        f'docker_image = "{PYTHON_IMAGE}"\n'
        'user = "sandbox"\n'
    )
    engine = graderq.Engine(settings=make_settings(profiles_file=profiles))

    assert set(engine.profiles) == {"py_root", "py_user"}
    assert engine.profiles["py_root"].read_only and not engine.profiles["py_user"].read_only
    for profile in ("py_root", "py_user"):  # each as a pooled UID, whatever its user
        pooled_uid(engine.run(profile, "id -u")["stdout"])
    with pytest.raises(ValueError, match="python"):
        engine.run("python", "true")  # the shipped profiles are not read from elsewhere


def test_configure_replaces_the_default_engines_profiles(default_engine: graderq.Engine) -> None:
    graderq.configure(profiles=[graderq.Profile("mine", PYTHON_IMAGE, user="sandbox")])
    assert graderq.run("mine", "echo configured")["stdout"] == b"configured\n"

    graderq.configure(profiles={"dicty": {"docker_image": PYTHON_IMAGE, "user": "nobody"}})
    assert graderq.engine.get_engine().profile("dicty").user == "nobody"
    pooled_uid(graderq.run("dicty", "id -u")["stdout"])  # a pooled UID, not nobody's
    with pytest.raises(ValueError, match="mine"):
        graderq.run("mine", "true")


@pytest.mark.parametrize("profile", ["python", "gcc_run"])
def test_read_only_profile_can_write_only_in_the_sandbox_directory(
    engine: graderq.Engine, profile: str
) -> None:
    script = (
        "for target in /tmp/x /x /home/sandbox/x /sandbox/x; do "
        "if echo data > $target 2>/dev/null; then echo $target ok; "
        "else echo $target refused; fi; done"
    )
    result = engine.run(profile, script)

    assert result["stdout"] == (
        b"/tmp/x refused\n/x refused\n/home/sandbox/x refused\n/sandbox/x ok\n"
    )


def test_writable_profile_can_write_to_tmp(engine: graderq.Engine) -> None:
    """The contrast that makes the read-only test meaningful."""
    result = engine.run("gcc_compile", "echo data > /tmp/x && cat /tmp/x")

    assert result["stdout"] == b"data\n"
