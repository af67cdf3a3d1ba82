"""The host side of sandbox disks that needs no root: naming, listing, loop lookups."""

import os
from pathlib import Path
from types import SimpleNamespace

import docker.errors
import pytest

from graderq.errors import DiskError, DockerError, TooManyDisks
from graderq.sandbox import disks, volumes
from graderq.sandbox.docker_backend import DockerBackend


@pytest.fixture
def sysfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake /sys/block with loop0 on a.img, loop1 detached, loop2 on a deleted b.img."""
    root = tmp_path / "sys-block"
    for name, backing in [
        ("loop0", "/d/a.img\n"),
        ("loop1", None),
        ("loop2", "/d/b.img (deleted)\n"),
    ]:
        (root / name).mkdir(parents=True)
        if backing:  # sysfs has a loop/ folder only for an attached device
            (root / name / "loop").mkdir()
            (root / name / "loop" / "backing_file").write_text(backing)
    monkeypatch.setattr(disks, "LOOP_SYSFS", root)
    return root


def test_an_image_is_named_after_its_volume_in_its_nodes_folder() -> None:
    assert disks.image_path(Path("/d"), "node1", "vol") == Path("/d/node1/vol.img")


def test_the_volume_options_mount_ext4_without_setuid_or_devices() -> None:
    options = disks.volume_options("/dev/loop7")
    assert options["type"] == "ext4" and options["device"] == "/dev/loop7"
    assert {"nosuid", "nodev"} <= set(options["o"].split(","))


def test_loop_devices_are_found_by_their_image(sysfs: Path) -> None:
    assert disks.path_of("/dev/loop0") == "/d/a.img"
    assert disks.path_of("/dev/loop1") is None
    assert disks.path_of("/dev/loop2") == "/d/b.img"  # its image deleted, still attached
    assert disks.devices(Path("/d/a.img")) == ["/dev/loop0"]
    assert disks.devices(Path("/d/b.img")) == ["/dev/loop2"]
    assert disks.devices(Path("/d/c.img")) == []


def test_images_are_listed_by_volume_with_their_mtime(tmp_path: Path) -> None:
    for name in ("kept", "orphan"):
        (tmp_path / f"{name}.img").touch()
    (tmp_path / "notes.txt").touch()
    os.utime(tmp_path / "kept.img", (0, 0))
    os.utime(tmp_path / "orphan.img", (0, 500))
    assert disks.images(tmp_path) == {"kept": 0, "orphan": 500}
    assert disks.images(tmp_path / "absent") == {}


def test_a_sandbox_finds_its_own_disk_not_a_workdir() -> None:
    def inspected(*volumes: str) -> dict[str, object]:
        mounts = [{"Type": "volume", "Name": name, "Destination": "/sandbox"} for name in volumes]
        return {"Name": "/graderq-abc", "Mounts": mounts}

    assert volumes.sandbox_disk("graderq-abc") == "graderq-abc-disk"
    assert volumes.disk_of(inspected("graderq-abc-disk")) == "graderq-abc-disk"
    assert volumes.disk_of(inspected("graderq-wd-123")) is None
    assert volumes.disk_of(inspected()) is None


def test_an_image_that_cannot_be_created_is_a_disk_error(tmp_path: Path) -> None:
    (tmp_path / "node").write_text("a file where the node's folder should be")
    with pytest.raises(DiskError, match="cannot create the sandbox disk") as caught:
        disks.make(tmp_path / "node" / "vol.img", 4)
    assert isinstance(caught.value, DockerError)
    assert "'disk' limit to None" in str(caught.value)


def test_a_missing_tool_is_a_disk_error_and_leaves_no_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disks.template.cache_clear()
    monkeypatch.setattr(disks, "MKFS", ("graderq-no-such-mkfs",))
    image = tmp_path / "vol.img"
    with pytest.raises(DiskError, match="cannot run graderq-no-such-mkfs"):
        disks.make(image, 4)
    assert not image.exists()


def test_a_disk_on_a_remote_engine_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    backend = DockerBackend(None, 60, tmp_path)

    def gone(name: str) -> None:  # any slot's last holder (the UID pool's check)
        raise docker.errors.NotFound(name)

    backend._api = SimpleNamespace(  # type: ignore[assignment]
        base_url="http://10.0.0.9:2375", inspect_container=gone, inspect_volume=gone
    )
    with pytest.raises(DiskError, match=r"10\.0\.0\.9:2375 is elsewhere"):
        backend.create_volume({}, disk=64)
    assert list(tmp_path.iterdir()) == []


def test_without_loop_devices_attaching_is_a_disk_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(disks, "LOOP_CONTROL", str(tmp_path / "no-loop-control"))
    image = tmp_path / "vol.img"
    image.write_bytes(b"")
    with pytest.raises(DiskError, match=r"cannot attach .* to a loop device"):
        disks.attach(image)


def test_only_the_written_stretches_of_a_sparse_file_are_copied(tmp_path: Path) -> None:
    image = tmp_path / "sparse.img"
    with image.open("wb") as file:
        file.truncate(64 * disks.MIB)
        os.pwrite(file.fileno(), b"head", 0)
        os.pwrite(file.fileno(), b"middle", 32 * disks.MIB)
    extents = list(disks._extents(image))
    found = {offset: data.rstrip(b"\0") for offset, data in extents}
    assert found == {0: b"head", 32 * disks.MIB: b"middle"}
    assert sum(len(data) for _, data in extents) < disks.MIB


def test_an_image_is_allocated_in_full_when_it_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(disks, "attach", lambda path: "/dev/loop99")
    image = tmp_path / "node" / "vol.img"
    assert disks.make(image, 4) == "/dev/loop99"
    assert image.stat().st_blocks * 512 >= 4 * disks.MIB  # no holes for the host to refuse
    sparse = tmp_path / "node" / "sparse.img"
    disks.make(sparse, 4, allocate=False)
    assert sparse.stat().st_blocks * 512 < disks.MIB


def test_a_disk_dir_without_room_refuses_the_disk_and_keeps_no_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, offset: int, length: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(disks.os, "posix_fallocate", full)
    image = tmp_path / "node" / "vol.img"
    with pytest.raises(DiskError, match=r"has \d+ MB free, not the 4 MB the disk needs"):
        disks.make(image, 4)
    assert not image.exists()


def test_a_node_holds_at_most_max_disks_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(disks, "attach", lambda path: "/dev/loop99")
    folder = tmp_path / "node"
    disks.make(folder / "a.img", 4, max_disks=2)
    disks.make(folder / "b.img", 4, max_disks=2)
    with pytest.raises(TooManyDisks, match=r"already holds 2 disks \(GRADERQ_MAX_DISKS=2\)"):
        disks.make(folder / "c.img", 4, max_disks=2)
    assert not (folder / "c.img").exists()
    assert issubclass(TooManyDisks, DiskError)
    (folder / "a.img").unlink()
    disks.make(folder / "c.img", 4, max_disks=2)  # a disk removed makes room for one


def test_room_counts_what_the_disks_still_allowed_would_need(tmp_path: Path) -> None:
    (tmp_path / "node").mkdir()
    (tmp_path / "node" / "a.img").touch()
    room = disks.room(tmp_path, "node", max_disks=3, megabytes=10)
    assert room.held == 1 and room.needed == 2 * 10 * disks.MIB and room.free > 0
    assert disks.room_warning(room, tmp_path, 3, 10) is None
    low = disks.Room(free=5 * disks.MIB, held=1, needed=20 * disks.MIB)
    warning = disks.room_warning(low, tmp_path, 3, 10)
    assert warning is not None and "has 5 MB free, less than the 20 MB" in warning
    # The nearest existing parent's file system: others may write there meanwhile.
    not_made = disks.free_bytes(tmp_path / "not" / "made")
    assert abs(not_made - disks.free_bytes(tmp_path)) < 256 * disks.MIB


def test_an_ext4_superblock_tells_its_error_count(tmp_path: Path) -> None:
    image = tmp_path / "vol.img"
    block = bytearray(2048)
    image.write_bytes(block)
    assert disks.superblock_errors(image) == 0
    block[1024 + disks.S_ERROR_COUNT] = 3
    image.write_bytes(block)
    assert disks.superblock_errors(image) == 3
    block[1024 + disks.S_ERROR_COUNT] = 0
    block[1024 + disks.S_STATE] = disks.EXT4_ERROR_FS | 1
    image.write_bytes(block)
    assert disks.superblock_errors(image) == 1
    assert disks.superblock_errors(tmp_path / "gone.img") == 0


def test_a_watch_reports_the_kernels_errors_about_its_device_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/dev/kmsg gives one record per read(2); a plain file stands in for it."""
    log = tmp_path / "kmsg"
    log.write_bytes(b"")
    monkeypatch.setattr(disks, "KMSG", str(log))
    monkeypatch.setattr(disks, "EXT4_SYSFS", tmp_path / "ext4")
    image = tmp_path / "vol.img"
    image.write_bytes(bytes(2048))
    watch = disks.IoWatch("/dev/loop1", image)
    records = [
        b"3,100,5,-;Buffer I/O error on device loop1, logical block 297\n",
        b"4,101,5,-;EXT4-fs warning (device loop12): ext4_end_bio: I/O error 3\n",
        b"6,102,5,-;EXT4-fs (loop1): mounted filesystem r/w without journal.\n",
    ]
    reads = iter(records)

    def read(fd: int, size: int) -> bytes:
        return next(reads, b"")

    monkeypatch.setattr(disks.os, "read", read)
    assert watch.errors() == ["Buffer I/O error on device loop1, logical block 297"]


def test_housekeeping_warns_when_the_disk_dir_lacks_room(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from graderq.sandbox.janitor import check_room
    from graderq.settings import Settings

    backend = SimpleNamespace(local=True, disk_dir=tmp_path, node_id=lambda: "node")
    free_mb = disks.free_bytes(tmp_path) // disks.MIB
    roomy = Settings(max_disks=1, default_limits={"disk": 1})
    crowded = Settings(max_disks=4, default_limits={"disk": free_mb})
    with caplog.at_level("WARNING", logger="graderq.janitor"):
        assert check_room(backend, roomy) is None  # type: ignore[arg-type]
        assert not caplog.records
        warning = check_room(backend, crowded)  # type: ignore[arg-type]
    assert warning is not None and f"{4 * free_mb} MB that 4 more" in warning
    assert "lower GRADERQ_MAX_DISKS" in caplog.text
