import os
import subprocess

import pytest

from graderq.limits import Limits
from graderq.profiles import Profile
from graderq.sandbox.spec import LABEL, ContainerSpec, create_body, run_spec, tmpfs_size


def spec(**kwargs: object) -> ContainerSpec:
    options = {"image": "img", "command": "echo hi", "limits": Limits()} | kwargs
    return ContainerSpec(**options)  # type: ignore[arg-type]


def test_hardening_is_on_by_default() -> None:
    body = create_body(spec())
    host = body["HostConfig"]
    assert body["Cmd"] == ["/bin/sh", "-c", 'umask 002 && exec /bin/sh -c "$1"', "sh", "echo hi"]
    assert body["Env"] == ["HOME=/sandbox"]
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


def test_the_command_runs_as_sh_c_would_run_it_with_umask_002() -> None:
    """The wrapper passes the command as one argument: quotes, $0, $@ and exit codes
    are what `sh -c COMMAND` gives."""
    command = """printf '%s|' "$0" "$#" 'a b' "$(umask)"; exit 7"""
    done = subprocess.run(spec(command=command).argv, capture_output=True, check=False)
    assert (done.returncode, done.stdout) == (7, b"/bin/sh|0|a b|0002|")


def test_network_enabled_profile_uses_the_sandboxs_own_network() -> None:
    body = create_body(spec(network_disabled=False, network="graderq-abc-net"))
    assert body["NetworkDisabled"] is False
    assert body["HostConfig"]["NetworkMode"] == "graderq-abc-net"
    with pytest.raises(ValueError, match="network of its own"):
        create_body(spec(network_disabled=False))


VOLUME_MOUNT = {
    "Type": "volume",
    "Source": "vol",
    "Target": "/sandbox",
    "VolumeOptions": {"NoCopy": True},
}
"""Without Docker's copy of the image's /sandbox, which also copied its owner and mode."""


def test_workdir_volume_is_mounted_at_sandbox_without_the_images_copy() -> None:
    mounts = create_body(spec(volume="vol"))["HostConfig"]["Mounts"]
    assert mounts == [VOLUME_MOUNT]


def test_the_sandbox_tmpfs_belongs_to_the_sandboxs_own_uid() -> None:
    """The backend sets `user` to the sandbox's UID:GID; any image's /sandbox is then its."""
    host = create_body(spec(user="100007:100000", limits=Limits(memory=32)))["HostConfig"]
    assert host["Tmpfs"]["/sandbox"] == (
        "rw,exec,nosuid,nodev,size=32m,mode=1777,uid=100007,gid=100000"
    )
    assert spec(user="sandbox").owner is None and spec(user="1:2").owner == (1, 2)


def test_read_only_root_without_files_gets_a_sandbox_tmpfs_bounded_by_memory() -> None:
    host = create_body(spec(read_only=True, limits=Limits(memory=32)))["HostConfig"]
    assert host["ReadonlyRootfs"] is True
    assert host["Mounts"] == []
    assert host["Tmpfs"] == {"/sandbox": "rw,exec,nosuid,nodev,size=32m,mode=1777"}


def test_unbounded_writable_profile_keeps_its_writable_root() -> None:
    """disk None: the root is as writable as the profile says; /sandbox is a tmpfs of
    the sandbox's (the image's own /sandbox may be nobody's to write)."""
    host = create_body(spec(read_only=False, limits=Limits(disk=None, memory=64)))["HostConfig"]
    assert host["ReadonlyRootfs"] is False
    assert host["Mounts"] == []
    assert host["Tmpfs"] == {"/sandbox": "rw,exec,nosuid,nodev,size=64m,mode=1777"}


def test_a_disk_limit_makes_every_root_read_only_and_every_writable_place_bounded() -> None:
    """overlay2 cannot bound a writable root here: /sandbox, /tmp and /var/tmp are
    tmpfs of the disk limit (or the memory limit, if lower) instead."""
    host = create_body(spec(read_only=False, limits=Limits(disk=16, memory=64)))["HostConfig"]
    assert host["ReadonlyRootfs"] is True
    tmpfs = "rw,exec,nosuid,nodev,size=16m,mode=1777"
    assert host["Tmpfs"] == {"/sandbox": tmpfs, "/tmp": tmpfs, "/var/tmp": tmpfs}


def test_a_workdir_replaces_only_the_sandbox_tmpfs() -> None:
    host = create_body(spec(read_only=False, volume="vol"))["HostConfig"]
    assert host["Mounts"] == [VOLUME_MOUNT]
    assert set(host["Tmpfs"]) == {"/tmp", "/var/tmp"}


def test_tmpfs_size_is_the_lower_of_disk_and_memory() -> None:
    assert tmpfs_size(Limits(disk=16, memory=64)) == "16m"
    assert tmpfs_size(Limits(disk=256, memory=64)) == "64m"
    assert tmpfs_size(Limits(disk=100, memory=None)) == "100m"
    assert tmpfs_size(Limits(disk=None, memory=None)) == "1g"


def test_files_need_a_volume_only_without_a_workdir() -> None:
    """A disk of the disk limit, or a plain volume when it is None (the backend's)."""
    assert spec(with_files=True).needs_volume
    assert spec(with_files=True, limits=Limits(disk=None)).needs_volume
    assert not spec(with_files=False).needs_volume
    assert not spec(with_files=True, volume="vol").needs_volume


def test_run_spec_takes_the_profile_and_labels_the_sandbox_with_it() -> None:
    profile = Profile("py", "img:1", user="sandbox", read_only=True, network_disabled=False)
    limits = Limits(memory=64)

    run = run_spec(profile, "echo hi", limits, volume="wd", with_files=True)

    assert (run.image, run.command, run.limits, run.user) == ("img:1", "echo hi", limits, "sandbox")
    assert (run.read_only, run.network_disabled) == (True, False)
    assert (run.volume, run.with_files) == ("wd", True)
    assert run.labels[LABEL] == "sandbox"
    assert run.labels[f"{LABEL}.profile"] == "py"
    assert run.labels[f"{LABEL}.owner"].endswith(f":{os.getpid()}")


def test_run_spec_defaults_to_no_volume_and_no_files() -> None:
    run = run_spec(Profile("py", "img:1"), "true", Limits())

    assert (run.volume, run.with_files, run.needs_volume) == (None, False, False)


def test_every_sandbox_gets_graderqs_seccomp_profile_and_masked_paths() -> None:
    import json

    host = create_body(spec())["HostConfig"]
    (seccomp,) = [opt for opt in host["SecurityOpt"] if opt.startswith("seccomp=")]
    profile = json.loads(seccomp.removeprefix("seccomp="))
    allowed = {name for rule in profile["syscalls"] for name in rule["names"]}
    assert not allowed & {"io_uring_setup", "io_uring_enter", "io_uring_register"}
    assert {"read", "write", "execve", "clone", "inotify_init1", "mq_open"} <= allowed
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    assert {"/proc/diskstats", "/sys/block", "/dev/pts", "/proc/kcore"} <= set(host["MaskedPaths"])
    assert "/proc/sys" in host["ReadonlyPaths"]


def test_the_sandboxs_disk_is_throttled() -> None:
    host = create_body(spec(device="/dev/loop7", limits=Limits(io_write=2, io_iops=30)))[
        "HostConfig"
    ]
    assert host["BlkioDeviceWriteBps"] == [{"Path": "/dev/loop7", "Rate": 2 * 1024 * 1024}]
    assert host["BlkioDeviceWriteIOps"] == [{"Path": "/dev/loop7", "Rate": 30}]
    assert host["BlkioDeviceReadIOps"] == [{"Path": "/dev/loop7", "Rate": 30}]
    unbounded = create_body(spec(device="/dev/loop7", limits=Limits(io_write=None, io_iops=None)))
    assert "BlkioDeviceWriteBps" not in unbounded["HostConfig"]
    assert "BlkioDeviceWriteBps" not in create_body(spec())["HostConfig"]  # no disk


def test_the_perimeter_rules_allow_exactly_the_entries() -> None:
    import pytest

    from graderq.addresses import parse_allow
    from graderq.sandbox.perimeter import restore_input

    allowed = parse_allow(" 10.0.0.5/32:3142, 192.168.7.0/24 ,")
    assert [str(entry) for entry in allowed] == ["10.0.0.5/32:3142", "192.168.7.0/24"]
    text = restore_input(allowed)
    assert text.splitlines() == [
        "*filter",
        ":GRADERQ-SANDBOX - [0:0]",
        "-A GRADERQ-SANDBOX -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
        "-A GRADERQ-SANDBOX -d 10.0.0.5/32 -p tcp --dport 3142 -j RETURN",
        "-A GRADERQ-SANDBOX -d 10.0.0.5/32 -p udp --dport 3142 -j RETURN",
        "-A GRADERQ-SANDBOX -d 192.168.7.0/24 -j RETURN",
        "-A GRADERQ-SANDBOX -j DROP",
        "COMMIT",
    ]
    for bad in ("10.0.0.5/24", "example.org", "10.0.0.5/32:0", "10.0.0.5/32:http"):
        with pytest.raises(ValueError, match="sandbox_allow entry"):
            parse_allow(bad)
