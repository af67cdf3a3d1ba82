"""The host side of sandbox disks that needs no root: naming, listing, loop lookups."""

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from graderq.errors import DiskError, DockerError
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
    backend._api = SimpleNamespace(base_url="http://10.0.0.9:2375")  # type: ignore[assignment]
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
