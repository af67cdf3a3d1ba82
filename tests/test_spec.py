from graderq.limits import Limits
from graderq.sandbox.spec import LABEL, ContainerSpec, create_body


def spec(**kwargs: object) -> ContainerSpec:
    options = {"image": "img", "command": "echo hi", "limits": Limits()} | kwargs
    return ContainerSpec(**options)  # type: ignore[arg-type]


def test_hardening_is_on_by_default() -> None:
    body = create_body(spec())
    host = body["HostConfig"]
    assert body["Cmd"] == ["/bin/sh", "-c", "echo hi"]
    assert body["WorkingDir"] == "/sandbox"
    assert body["NetworkDisabled"] is True
    assert host["NetworkMode"] == "none"
    assert host["CapDrop"] == ["ALL"]
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["Privileged"] is False
    assert host["LogConfig"]["Type"] == "none"
    assert "Binds" not in host
    assert all("docker.sock" not in str(m) for m in host["Mounts"])


def test_limits_become_cgroup_and_rlimits() -> None:
    host = create_body(spec(limits=Limits(cputime=2.5, memory=100, processes=10, file_size=5)))[
        "HostConfig"
    ]
    assert host["Memory"] == host["MemorySwap"] == 100 * 1024 * 1024
    assert host["PidsLimit"] == 10
    assert {"Name": "cpu", "Soft": 3, "Hard": 3} in host["Ulimits"]
    assert {"Name": "fsize", "Soft": 5, "Hard": 5} in host["Ulimits"]


def test_unlimited_limits_set_nothing() -> None:
    host = create_body(spec(limits=Limits(cputime=None, memory=None, processes=None)))["HostConfig"]
    assert "Memory" not in host
    assert host["PidsLimit"] == -1
    assert host["Ulimits"] == []


def test_network_enabled_profile_uses_the_sandbox_network() -> None:
    body = create_body(spec(network_disabled=False))
    assert body["NetworkDisabled"] is False
    assert body["HostConfig"]["NetworkMode"] == "graderq-sandbox"


def test_workdir_volume_is_mounted_at_sandbox() -> None:
    mounts = create_body(spec(volume="vol"))["HostConfig"]["Mounts"]
    assert mounts == [{"Type": "volume", "Source": "vol", "Target": "/sandbox"}]


def test_read_only_root_without_files_gets_a_sandbox_tmpfs_bounded_by_memory() -> None:
    host = create_body(spec(read_only=True, limits=Limits(memory=32)))["HostConfig"]
    assert host["ReadonlyRootfs"] is True
    assert host["Mounts"] == []
    assert host["Tmpfs"] == {"/sandbox": "rw,exec,nosuid,nodev,size=32m,mode=1777"}


def test_read_only_root_with_files_gets_a_labelled_anonymous_sandbox_volume() -> None:
    host = create_body(spec(read_only=True, with_files=True))["HostConfig"]
    assert host["ReadonlyRootfs"] is True
    (mount,) = host["Mounts"]
    assert mount["Target"] == "/sandbox" and "Source" not in mount
    assert mount["VolumeOptions"]["Labels"][LABEL] == "sandbox"
