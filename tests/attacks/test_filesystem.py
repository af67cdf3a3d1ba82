"""Attacks on the file systems: filling the disk, writing outside the sandbox directory,
reading the host, path traversal through file names, symlinks and setuid binaries left
in a shared working directory."""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import socket
from pathlib import Path

import docker
import pytest

import graderq
from graderq.engine import WorkingDirectory
from graderq.errors import FileError
from tests.attacks.support import assert_still_works, fields, plain_engine, probe, volume_folder
from tests.integration.support import MIB, REPO, our_containers

pytestmark = pytest.mark.timeout(60)

# --- filling the disk --------------------------------------------------------------------
# Three files of 100 MB each, every one within its file_size limit: 300 MB in all, more
# than the default disk limit of 256 MB. Each writable place takes what fits and then
# refuses with ENOSPC; nothing outlives the sandbox or its workdir.

FILL = (
    "for i in 1 2 3; do dd if=/dev/zero of={dir}/big$i bs=1M count=100 status=none "
    "&& echo wrote; done"
)
FILL_LIMITS = {"file_size": 100 * MIB, "memory": 512, "cputime": 10, "realtime": 30}
"""memory above disk: a tmpfs fills up before the memory cgroup does."""
ENOSPC = b"No space left on device"


def fill(
    engine: graderq.Engine,
    profile: str,
    directory: str,
    files: list[dict[str, str]] | None = None,
    workdir: WorkingDirectory | None = None,
) -> dict:
    """Write 3 x 100 MB into `directory`; the result has how many files were written."""
    command = FILL.format(dir=directory)
    result = engine.run(profile, command, files=files, limits=FILL_LIMITS, workdir=workdir)
    if result["timeout"]:
        pytest.fail(f"the writes did not finish in time: {result}")
    return result


def assert_full_at_the_limit(result: dict) -> None:
    """Two files fit in 256 MB, the third is refused with ENOSPC, nobody is killed."""
    assert result["stdout"].count(b"wrote\n") == 2, result
    assert ENOSPC in result["stderr"], result
    assert not result["oom_killed"] and not result["timeout"]


@pytest.mark.parametrize("directory", ["/tmp", "/var/tmp"])
def test_filling_a_writable_profiles_scratch_space_is_bounded(
    engine: graderq.Engine, directory: str
) -> None:
    """gcc_compile is not read-only; its writable places are tmpfs of the disk limit."""
    assert_full_at_the_limit(fill(engine, "gcc_compile", directory))
    assert_still_works(engine)


def test_a_writable_profile_has_no_unbounded_writable_layer(engine: graderq.Engine) -> None:
    """overlay2 cannot bound a container's own layer here, so with a disk limit the root
    is read-only: the places left to fill are the bounded mounts above."""
    result = engine.run("gcc_compile", WRITE_EVERYWHERE)

    outcomes = dict(line.split() for line in result["stdout"].decode().splitlines())
    written = {path for path, how in outcomes.items() if how == "written"}
    assert written == {"/sandbox/x", "/dev/shm/x", "/tmp/x", "/var/tmp/x"}
    assert_still_works(engine)


def test_filling_the_files_disk_is_bounded(engine: graderq.Engine) -> None:
    """A sandbox given files gets /sandbox on a disk of its own (an ext4 image)."""
    result = fill(engine, "python", "/sandbox", files=[{"name": "main.py", "content": ""}])
    assert_full_at_the_limit(result)
    assert_still_works(engine)


def test_filling_a_working_directory_is_bounded(engine: graderq.Engine) -> None:
    with engine.working_directory() as workdir:
        result = fill(engine, "python", "/sandbox", workdir=workdir)
        again = engine.run("python", "head -c 1000000 /dev/zero > more", workdir=workdir)
    assert_full_at_the_limit(result)
    assert ENOSPC in again["stderr"], "a later run finds the workdir as full as it was left"
    assert_still_works(engine)


@pytest.mark.parametrize("directory", ["/sandbox", "/dev/shm"])
def test_memory_backed_directories_are_bounded_by_the_memory_limit(
    engine: graderq.Engine, directory: str
) -> None:
    """The contrast: with 64 MB of memory, a read-only profile without files has /sandbox
    on a 64 MB tmpfs, and /dev/shm is a 64 MB tmpfs; both are charged to memory."""
    limits = FILL_LIMITS | {"memory": 64}
    result = engine.run("python", FILL.format(dir=directory), limits=limits)
    assert b"wrote" not in result["stdout"], result
    assert_still_works(engine)


# --- writing outside /sandbox on a read-only profile --------------------------------------

WRITE_EVERYWHERE = (
    "for path in /etc/x /etc/hosts /tmp/x /var/tmp/x /x /usr/bin/x /home/x /root/x /run/x "
    "/sandbox/x /dev/shm/x; do "
    'if (echo pwned > $path) 2>/dev/null; then echo "$path written"; '
    'else echo "$path refused"; fi; done'
)


@pytest.mark.parametrize("with_files", [False, True], ids=["tmpfs-sandbox", "volume-sandbox"])
@pytest.mark.parametrize("profile", ["python", "gcc_run"])
def test_read_only_profile_writes_only_in_its_sandbox(
    engine: graderq.Engine, profile: str, with_files: bool
) -> None:
    """Only /sandbox (and /dev/shm, a bounded tmpfs, tested above) take writes."""
    files = [{"name": "main.py", "content": ""}] if with_files else None
    result = engine.run(profile, WRITE_EVERYWHERE, files=files)

    outcomes = dict(line.split() for line in result["stdout"].decode().splitlines())
    written = {path for path, how in outcomes.items() if how == "written"}
    assert len(outcomes) == 11
    assert written == {"/sandbox/x", "/dev/shm/x"}
    assert_still_works(engine)


# --- the host, seen from inside -----------------------------------------------------------

HOST_PATHS = [
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/var/lib/docker",
    "/etc/docker",
    str(REPO),
]


@pytest.mark.parametrize("profile", ["python", "root"])
def test_the_host_is_invisible(engine: graderq.Engine, tmp_path: Path, profile: str) -> None:
    """No Docker socket, no host path (not even a file made on the host just now), and
    /proc lists only the sandbox's own few processes."""
    marker = tmp_path / "graderq-host-marker"
    marker.write_text("host only")
    paths = [*HOST_PATHS, str(marker), str(tmp_path)]
    command = shlex.join(["python3", "hostview.py", *paths])
    result = engine.run(profile, command, files=[probe("hostview.py")])

    assert result["exit_code"] == 0, result
    seen = fields(result["stdout"])
    pids = [int(pid) for pid in seen["pids"].split()]
    assert max(pids) < 100, f"/proc lists pids {pids}"
    assert set(seen["commands"].split()) <= {"sh", "python3"}
    assert seen["hostname"] != socket.gethostname()
    lines = result["stdout"].decode().splitlines()
    assert {f"absent {path}" for path in paths} <= set(lines)
    assert marker.read_text() == "host only"
    assert_still_works(engine)


# --- file names that try to leave /sandbox ----------------------------------------------

TRAVERSALS = [
    "../x",
    "a/../../x",
    "a/b/../../../x",
    "..",
    "x/..",
    "/etc/pwned",
    "/sandbox/../etc/pwned",
    "//etc/pwned",
    "./x",
    "a//b",
    "a/./b",
    "x\0/../../etc/pwned",
]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_traversing_file_names_are_refused_before_any_container(
    engine: graderq.Engine, docker_client: docker.DockerClient, name: str
) -> None:
    before = our_containers(docker_client)
    files = [{"name": "ok.txt", "content": "fine"}, {"name": name, "content": "pwned"}]
    with pytest.raises(FileError, match="name"):
        engine.run("python", "true", files=files)

    assert our_containers(docker_client) == before
    assert_still_works(engine)


LITERAL_NAMES = ["..\\..\\x", "~/x", "$HOME/x", "evil -> /etc/y", "..x", "x..", "...", "-rf"]


def test_odd_but_legal_names_land_literally_inside_the_sandbox(engine: graderq.Engine) -> None:
    files = [{"name": name, "content": "x"} for name in LITERAL_NAMES]
    result = engine.run("python", "find /sandbox -type f | sort; ls /etc/y 2>&1", files=files)

    found = result["stdout"].decode().splitlines()
    assert found[:-1] == sorted(f"/sandbox/{name}" for name in LITERAL_NAMES)
    assert "No such file" in found[-1]
    assert_still_works(engine)


def test_a_name_the_kernel_cannot_write_is_a_clear_error(
    engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    """Docker failed on a 300-byte name (NAME_MAX is 255); it is refused before Docker
    now, naming the file, and the longest legal path is written (test_names.py)."""
    before = our_containers(docker_client)
    with pytest.raises(FileError, match="component longer than 255 bytes"):
        engine.run("python", "true", files=[{"name": "a" * 300, "content": "x"}])

    assert our_containers(docker_client) == before
    assert_still_works(engine)


# --- what one run leaves in a working directory for the next ------------------------------

LINKS = "ln -s /etc evil && ln -s /etc/passwd pw && ln -s / root && ls -l"


def test_symlinks_left_in_a_workdir_do_not_redirect_later_files(engine: graderq.Engine) -> None:
    """Run 1 plants `evil -> /etc`, `pw -> /etc/passwd` and `root -> /`; run 2's files
    named through them replace the links inside the volume: nothing is written to the
    host's /etc, nor to the container's own (its root is writable in gcc_compile)."""
    host_etc = Path("/etc")
    assert not (host_etc / "pwned").exists()
    passwd = hashlib.sha256((host_etc / "passwd").read_bytes()).hexdigest()
    files = [
        {"name": "evil/pwned", "content": "pwned\n"},
        {"name": "pw", "content": "pwned\n"},
        {"name": "root/etc/pwned2", "content": "pwned\n"},
    ]
    check = (
        "for f in evil pw root; do test -L $f && echo $f still-a-link; done; "
        "cat evil/pwned pw root/etc/pwned2; "
        "ls /etc/pwned /etc/pwned2 2>/dev/null; grep -c '^root:' /etc/passwd"
    )
    try:
        with engine.working_directory() as workdir:
            planted = engine.run("python", LINKS, workdir=workdir)
            result = engine.run("gcc_compile", check, files=files, workdir=workdir)
    finally:
        for name in ("pwned", "pwned2"):
            if (host_etc / name).exists():  # absent before the test: never the host's own
                (host_etc / name).unlink()
                pytest.fail(f"the host's /etc/{name} was written through a planted symlink")

    assert planted["stdout"].count(b" -> ") == 3, planted
    assert result["stdout"] == b"pwned\npwned\npwned\n1\n", result
    assert hashlib.sha256((host_etc / "passwd").read_bytes()).hexdigest() == passwd
    assert_still_works(engine)


def test_a_setuid_binary_of_another_identity_gives_no_other_identity(
    engine: graderq.Engine,
) -> None:
    """A sandbox (of the `root` profile, a pooled UID like all) makes a setuid copy of
    `id` in its workdir. Were it to reach a sandbox of another UID (the test copies it
    there on the host, with its owner and mode: no sandbox can), running it stays that
    sandbox's own UID (no-new-privileges ignores the bit), so it cannot borrow the
    other's UID, nor its per-user quotas."""
    plant = "cp /usr/bin/id suid-id && chmod 4755 suid-id && stat -c '%a %u' suid-id"
    plain = plain_engine()
    with (
        plain.working_directory() as planted_in,
        plain.working_directory() as victim,
    ):
        planted = engine.run("root", plant, workdir=planted_in)
        source = volume_folder(planted_in.volume) / "suid-id"
        copy = volume_folder(victim.volume) / "suid-id"
        shutil.copyfile(source, copy)
        os.chown(copy, source.stat().st_uid, source.stat().st_gid)
        os.chmod(copy, source.stat().st_mode)
        result = engine.run(
            "python", "stat -c %a suid-id; ./suid-id -u; ./suid-id -ru; id -u", workdir=victim
        )

    mode, owner = planted["stdout"].split()
    assert mode == b"4755", planted
    copied_mode, effective, real, own = result["stdout"].split()
    assert copied_mode == b"4755", result
    assert effective == real == own != owner, result
    assert_still_works(engine)
