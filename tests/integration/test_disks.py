"""Bounded disks on the real engine: ext4 images on loop devices as /sandbox volumes."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import docker
import pytest

import graderq
from graderq.errors import DiskError, TooManyDisks, WorkdirLost
from graderq.limits import Limits
from graderq.sandbox import ContainerSpec, disks
from graderq.sandbox.docker_backend import DockerBackend
from graderq.sandbox.identities import LOCK_DIR
from graderq.sandbox.janitor import DISK_GRACE, sweep
from graderq.sandbox.spec import KIND_SANDBOX, owner_labels
from graderq.sandbox.volumes import DISK_LABEL, SLOT_LABEL, sandbox_disk
from graderq.settings import get_settings
from tests.integration.support import (
    PYTHON_IMAGE,
    disk_objects,
    fill,
    make_settings,
    pooled_uid,
    volume_exists,
)

FILES = [{"name": "main.py", "content": "print('hi')\n"}]
ENOSPC = b"No space left on device"


def megabytes_free(stdout: bytes) -> int:
    """The free megabytes in the last line of `df -m /sandbox`."""
    return int(stdout.decode().splitlines()[-1].split()[3])


@pytest.mark.cgroups
def test_files_get_a_disk_of_the_disk_limit_that_refuses_more(engine: graderq.Engine) -> None:
    command = "df -m /sandbox; dd if=/dev/zero of=big bs=1M count=100 status=none; ls -s big"
    # CPU enough for dd however slow the host: the bound under test is the disk's.
    result = engine.run("python", command, files=FILES, limits={"disk": 32, "cputime": 30})

    assert ENOSPC in result["stderr"], result
    size_mb = int(result["stdout"].decode().splitlines()[1].split()[1])
    assert 28 <= size_mb <= 32
    written_kb = int(result["stdout"].split()[-2])
    assert 25 * 1024 <= written_kb <= 32 * 1024
    assert not result["oom_killed"] and not result["timeout"]


def test_a_disk_is_an_empty_world_writable_sandbox_for_any_user(
    extra_engine: graderq.Engine, engine: graderq.Engine
) -> None:
    listing = "stat -c '%A %U' /sandbox; ls -A /sandbox; touch mine && echo wrote"
    as_user = engine.run("python", listing, files=FILES)
    as_root = extra_engine.run("root", listing, files=FILES)

    for result in (as_user, as_root):
        assert result["stdout"] == b"drwxrwxrwx root\nmain.py\nwrote\n", result


@pytest.mark.cgroups
def test_a_workdir_disk_keeps_its_files_and_its_bound_across_runs(
    engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    roomy = {"cputime": 30}  # the bound under test is the disk's, on any host
    with engine.working_directory(disk=16) as workdir:
        labels = docker_client.volumes.get(workdir.volume).attrs["Labels"]
        first = engine.run(
            "python", "head -c 4000000 /dev/zero > four; df -m .", workdir=workdir, limits=roomy
        )
        second = engine.run(
            "gcc_compile",
            "ls -s four; head -c 20000000 /dev/zero > twenty",
            workdir=workdir,
            limits=roomy,
        )
        third = engine.run("python", "rm twenty; df -m .", workdir=workdir, limits=roomy)

    assert labels[DISK_LABEL] == "16"
    assert second["stdout"].split()[-1] == b"four" and ENOSPC in second["stderr"], second
    assert megabytes_free(third["stdout"]) >= megabytes_free(first["stdout"]) - 1
    image = disks.image_path(
        get_settings().disk_dir,
        DockerBackend.from_settings(get_settings()).node_id(),
        workdir.volume,
    )
    assert not image.exists() and not disks.devices(image)  # removed with the workdir


WRITE_FIRST = (
    "mkdir -p out/deep && echo one > out/deep/f && "
    "printf 'int main(void) { return 3; }' > p.c && gcc -o p p.c && id -u"
)
REWRITE = "echo two >> out/deep/f && touch out/deep/new && rm p.c && ./p; echo $?; id -u"


@pytest.mark.parametrize("disk", [16, None], ids=["disk", "plain-volume"])
def test_runs_of_a_workdir_share_its_uid_and_rewrite_each_others_files(
    engine: graderq.Engine, disk: int | None
) -> None:
    """The workdir has a host UID of its own (identities.py), which each of its runs is,
    even while another of its runs holds a slot: the second appends to, adds to, deletes
    and runs what the first made."""
    with engine.working_directory(disk=disk) as workdir:
        with engine.create("gcc_compile", WRITE_FIRST, workdir=workdir) as first_box:
            first = engine.start(first_box)
            second = engine.run("python", REWRITE, workdir=workdir)
        listing = engine.run(
            "python", "cat out/deep/f; ls out/deep; stat -c '%a %g' out/deep/f p", workdir=workdir
        )

    assert first["exit_code"] == 0, first
    code, uid = second["stdout"].split()
    assert (second["stderr"], code) == (b"", b"3"), second
    assert pooled_uid(uid) == pooled_uid(first["stdout"]), "the runs had two host UIDs"
    gid = str(get_settings().sandbox_uid_base)
    assert listing["stdout"].decode().splitlines() == [
        "one",
        "two",
        "f",
        "new",
        f"664 {gid}",
        f"775 {gid}",
    ], listing


@pytest.mark.cgroups
def test_the_number_of_files_is_bounded_too(engine: graderq.Engine) -> None:
    """An inode per 8 KiB: an 8 MB disk holds about a thousand files, not a million."""
    make = (
        "import os\nmade = 0\ntry:\n    for made in range(5000):\n"
        "        open(f'f{made}', 'w').close()\n"
        "except OSError as exc:\n    print(made, os.strerror(exc.errno))\n"
    )
    result = engine.run(
        "python",
        "python3 make.py",
        files=[{"name": "make.py", "content": make}],
        # The bound under test is the inodes': CPU enough on any host (under the VM's
        # emulation this needs about 1.2 s, over the default 1 s).
        limits={"disk": 8, "cputime": 30},
    )

    made, error = result["stdout"].decode().split(maxsplit=1)
    assert 900 <= int(made) < 1100 and error == "No space left on device\n", result


def test_without_a_disk_limit_the_root_is_as_writable_as_the_profile_says(
    extra_engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    """disk None: epicbox's behaviour, the root of a profile that is not read-only is
    writable and the files go to a plain volume (the profile `root` is not read-only;
    it runs as a pooled UID like every profile, so it writes where the image lets any
    user write: /run/lock, which no tmpfs covers)."""
    write = "echo x > /run/lock/graderq-test && echo root-writable; stat -f -c %T /sandbox"
    unbounded = extra_engine.run("root", write, limits={"disk": None})
    bounded = extra_engine.run("root", write)

    assert unbounded["stdout"].startswith(b"root-writable\n"), unbounded
    assert b"Read-only file system" in bounded["stderr"]
    assert bounded["stdout"] == b"tmpfs\n"


def test_the_janitor_removes_a_disk_left_without_its_volume() -> None:
    """A worker that dies between making the image and its volume leaves the image
    attached to a loop device; a sweep detaches and deletes it once it is old enough."""
    backend = DockerBackend.from_settings(get_settings())
    directory = backend.disk_dir / backend.node_id()
    old = directory / "graderq-test-orphan-old.img"
    new = directory / "graderq-test-orphan-new.img"
    try:
        disks.make(old, 4)
        disks.make(new, 4)
        past = time.time() - DISK_GRACE - 10
        os.utime(old, (past, past))
        done = sweep(backend, max_age=3600)

        assert done.disks == 1
        assert not old.exists() and not disks.devices(old)
        assert new.exists() and disks.devices(new)
    finally:
        disks.remove(old)
        disks.remove(new)


def test_a_failed_container_create_removes_the_disk_made_for_it(
    extra_engine: graderq.Engine,
) -> None:
    before = disk_objects()
    with pytest.raises(graderq.DockerError, match="not on the Docker engine"):
        extra_engine.run("missing_image", "true", files=FILES)
    assert disk_objects() == before


def test_a_workdir_whose_disk_was_lost_is_never_mounted_again(
    engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    """A reboot detaches every loop device; a new disk may then take the device a
    workdir's volume names. Such a workdir is refused and the janitor removes it."""
    backend = DockerBackend.from_settings(get_settings())
    workdir = engine.open_workdir(disk=8)
    try:
        device = docker_client.volumes.get(workdir.volume).attrs["Options"]["device"]
        disks.detach(device)  # what a reboot does
        with pytest.raises(WorkdirLost, match="lost its disk"):
            engine.run("python", "ls", workdir=workdir)
        sweep(backend, max_age=3600)
        assert not volume_exists(docker_client, workdir.volume)
        assert not disks.image_path(
            get_settings().disk_dir, backend.node_id(), workdir.volume
        ).exists()
    finally:
        engine.close_workdir(workdir)


def test_a_workdirs_uid_is_recorded_with_it_and_freed_by_the_janitor(
    docker_client: docker.DockerClient,
) -> None:
    """The workdir's slot is named on its volume and in the slot's record; its runs are
    that UID; once the janitor removes the expired workdir (its maker long gone, say),
    no record keeps the slot."""
    expired = graderq.Engine(settings=make_settings(workdir_ttl=-1))
    backend = expired.backend
    workdir = expired.open_workdir(disk=8)
    try:
        slot = int(docker_client.volumes.get(workdir.volume).attrs["Labels"][SLOT_LABEL])
        record = (LOCK_DIR / f"{slot}.lock").read_text().split()
        uid = expired.run("python", "id -u", workdir=workdir)["stdout"]
        assert record[:3] == ["workdir", backend.node_id(), workdir.volume]
        assert int(uid) == get_settings().sandbox_uid_base + 1 + slot
        assert backend._identities.taken(slot)

        sweep(backend, max_age=3600)
        assert not volume_exists(docker_client, workdir.volume)
        assert not backend._identities.taken(slot)
    finally:
        expired.close_workdir(workdir)


def test_a_sandbox_made_by_one_backend_is_cleaned_up_by_another(
    docker_client: docker.DockerClient,
) -> None:
    """No backend remembers a sandbox's disk or cgroup: a backend that did not make the
    sandbox (a worker started after its maker died) finds both on the host."""
    before = disk_objects()
    maker = DockerBackend.from_settings(get_settings())
    spec = ContainerSpec(
        PYTHON_IMAGE,
        "echo hi > note",
        Limits(disk=8),
        with_files=True,
        labels=owner_labels(KIND_SANDBOX),
    )
    container = maker.create(spec)
    try:
        assert maker.start(container, None, spec.limits).exit_code == 0
        name = docker_client.api.inspect_container(container)["Name"].lstrip("/")
        disk = sandbox_disk(name)
        assert volume_exists(docker_client, disk) and disk_objects() != before
        accounting = maker.accounting
        assert accounting is not None and name in accounting.parents()

        DockerBackend.from_settings(get_settings()).destroy(container)

        assert not volume_exists(docker_client, disk)
        assert disk_objects() == before  # its image deleted, its loop device detached
        assert name not in accounting.parents()
    finally:
        maker.destroy(container)


def loops_on(folder: Path) -> list[str]:
    """The loop devices attached to an image in `folder`."""
    return [
        entry.name
        for entry in Path("/sys/block").glob("loop*")
        if (disks.path_of(f"/dev/{entry.name}") or "").startswith(f"{folder}/")
    ]


def test_a_full_disk_dir_refuses_a_new_disk_up_front(small_disk_dir: Path) -> None:
    """Measured with sparse images: the sandbox wrote 8 MB, `sync` returned 0, the run
    exited 0, and the kernel logged I/O errors. Allocated in full, a disk that does not
    fit is refused before the run, with the free megabytes in the message."""
    engine = graderq.Engine(settings=make_settings(disk_dir=small_disk_dir))
    fill(small_disk_dir, leave_mb=4)
    write = "dd if=/dev/zero of=big bs=1M count=8 status=none; sync; echo wrote"

    with pytest.raises(DiskError, match=r"has [0-4] MB free, not the 32 MB the disk needs"):
        engine.run("python", write, files=FILES, limits={"disk": 32})
    with pytest.raises(DiskError, match="not the 32 MB"):
        engine.open_workdir(disk=32)

    assert list(small_disk_dir.glob("*/*.img")) == [] and loops_on(small_disk_dir) == []
    (small_disk_dir / "filler").unlink()
    assert engine.run("python", write, files=FILES, limits={"disk": 32})["exit_code"] == 0


@pytest.mark.parametrize("sync", ["sync;", ""], ids=["synced", "flushed-at-unmount"])
def test_a_run_whose_disk_saw_io_errors_is_a_disk_error_never_exit_0(
    small_disk_dir: Path, sync: str
) -> None:
    """A disk whose image lost its allocation (a hole punched in it, what a sparse image
    is) on a full disk dir: the writes fail under the sandbox's ext4, the run raises."""
    engine = graderq.Engine(settings=make_settings(disk_dir=small_disk_dir))
    workdir = engine.open_workdir(disk=32)
    try:
        (image,) = small_disk_dir.glob(f"*/{workdir.volume}.img")
        hole = ["fallocate", "--punch-hole", "--offset", str(4 * disks.MIB)]
        subprocess.run([*hole, "--length", str(28 * disks.MIB), str(image)], check=True)
        fill(small_disk_dir, leave_mb=0)
        with pytest.raises(DiskError, match=rf"disk {workdir.volume} .* saw I/O errors"):
            engine.run(
                "python", f"dd if=/dev/zero of=big bs=1M count=8 status=none; {sync} echo ok",
                workdir=workdir,
            )  # fmt: skip
    finally:
        engine.close_workdir(workdir)
    assert list(small_disk_dir.glob("*/*.img")) == [] and loops_on(small_disk_dir) == []


def test_a_node_holds_at_most_max_disks_workdirs_and_disks(tmp_path: Path) -> None:
    """GRADERQ_MAX_DISKS=2: the third disk is refused, counted from the host (another
    engine, like another worker process of the node, shares the count), nothing leaks."""
    settings = make_settings(disk_dir=tmp_path, max_disks=2)
    engine, twin = graderq.Engine(settings=settings), graderq.Engine(settings=settings)
    first = engine.open_workdir(disk=8)
    second = twin.open_workdir(disk=8)
    try:
        with pytest.raises(TooManyDisks, match=r"already holds 2 disks \(GRADERQ_MAX_DISKS=2\)"):
            engine.open_workdir(disk=8)
        with pytest.raises(TooManyDisks):
            twin.run("python", "true", files=FILES, limits={"disk": 8})
        assert engine.run("python", "echo no disk needed")["exit_code"] == 0
        assert len(list(tmp_path.glob("*/*.img"))) == 2
    finally:
        twin.close_workdir(second)
    try:
        done = engine.run("python", "cat main.py", files=FILES, limits={"disk": 8})
        assert done["stdout"] == b"print('hi')\n"
    finally:
        engine.close_workdir(first)
    assert list(tmp_path.glob("*/*.img")) == [] and loops_on(tmp_path) == []
