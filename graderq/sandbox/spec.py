"""What one sandbox container is, as data, and the Docker options that harden it.

Pure: turning a spec into Docker's create options needs no engine, so the hardening
is unit-tested here and proven against the real engine in tests/integration.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from graderq.limits import MIB, Limits
from graderq.profiles import Profile

WORKDIR = "/sandbox"
LABEL = "graderq"
"""Every container and volume graderq creates has this label; its value is the kind."""
DNS_OPTIONS = ("ndots:1",)
"""resolv.conf options of a sandbox with network: glibc's default, said explicitly."""
UMASK = "002"
"""Every sandbox's umask, as before workdirs had UIDs of their own (identities.py):
what a run writes is group-writable."""
TMPFS_UNLIMITED = "1g"
"""Size of a tmpfs when neither disk nor memory is limited."""
SCRATCH = ("/tmp", "/var/tmp")
"""Writable tmpfs mounts of a profile that is not read-only, when the root cannot be."""
DOCKER_MASKED_PATHS = (
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
)
"""Docker's own masked paths (20.10): naming MaskedPaths replaces them, so they are kept."""
MASKED_PATHS = (
    *DOCKER_MASKED_PATHS,
    # Block devices: the loop devices' backing files name every sandbox's and workdir's
    # disk image (volume names, node ids); their I/O counters show others' activity.
    "/proc/diskstats",
    "/proc/partitions",
    "/proc/swaps",
    "/sys/block",
    "/sys/class/block",
    "/sys/dev/block",
    "/sys/devices/virtual/block",
    "/sys/class/bdi",
    "/sys/devices/virtual/bdi",
    "/sys/fs/ext4",
    # PTYs: the kernel's pty.max is shared by every devpts instance, so one sandbox could
    # take them all; a grader needs none (no Tty). Without /dev/pts, /dev/ptmx is absent.
    "/dev/pts",
)
"""Paths a sandbox cannot read: a directory becomes an empty read-only tmpfs, a file /dev/null."""
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
"""Docker's own read-only paths (20.10), kept for the same reason."""
KIND_SANDBOX = "sandbox"
KIND_WORKDIR = "workdir"
WORKDIR_EXPIRES = f"{LABEL}.expires"
"""On a working directory's volume: when it expires (unix seconds)."""
KIND_NODE = "node"
NODE_VOLUME = "graderq-node"
"""A volume on each daemon whose label holds that daemon's graderq node id."""
NODE_LABEL = f"{LABEL}.node"


@dataclass(frozen=True)
class ContainerSpec:
    """One sandbox container: image, command, identity, isolation and limits."""

    image: str
    command: str
    limits: Limits
    user: str = "root"
    """The profile's user; the Docker backend replaces it with the sandbox's own host
    identity, `UID:GID` from the machine's pool (identities.py), whatever the profile;
    /sandbox is made that identity's (see host_config)."""
    read_only: bool = False
    network_disabled: bool = True
    volume: str | None = None
    """Mounted at /sandbox: a working directory, or the volume made for the files."""
    with_files: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    device: str | None = None
    """The block device of the disk at /sandbox (a loop device), whose I/O is throttled."""
    runtime: str | None = None
    """The profile's Docker runtime; None: the backend's default."""
    network: str | None = None
    """The sandbox's own network when it has network (networks.py), made by the backend."""

    @property
    def argv(self) -> list[str]:
        """`sh -c COMMAND`, exactly, started by a shell that sets the umask first."""
        return ["/bin/sh", "-c", f'umask {UMASK} && exec /bin/sh -c "$1"', "sh", self.command]

    @property
    def needs_volume(self) -> bool:
        """Whether the backend must make a volume for the files (no workdir given): a
        disk of the `disk` limit, or a plain volume when that is None (unbounded)."""
        return self.with_files and self.volume is None

    @property
    def owner(self) -> tuple[int, int] | None:
        """(UID, GID) when `user` is numeric, as the backend sets it; else None."""
        uid, sep, gid = self.user.partition(":")
        if sep and uid.isdigit() and gid.isdigit():
            return int(uid), int(gid)
        return None


def owner_labels(kind: str, **extra: str) -> dict[str, str]:
    """Labels that identify a graderq object and the process that made it."""
    return {
        LABEL: kind,
        f"{LABEL}.owner": f"{socket.gethostname()}:{os.getpid()}",
        f"{LABEL}.created": str(int(time.time())),
        **extra,
    }


def run_spec(
    profile: Profile,
    command: str,
    limits: Limits,
    volume: str | None = None,
    with_files: bool = False,
) -> ContainerSpec:
    """The container of one run of `command` on `profile`, as Engine.create asks for it.

    `volume` is a working directory to mount at /sandbox; `with_files` says whether
    files will be written there before start.
    """
    return ContainerSpec(
        image=profile.docker_image,
        command=command,
        limits=limits,
        user=profile.user,
        read_only=profile.read_only,
        network_disabled=profile.network_disabled,
        volume=volume,
        with_files=with_files,
        labels=owner_labels(KIND_SANDBOX, **{f"{LABEL}.profile": profile.name}),
        runtime=profile.runtime,
    )


def ulimits(limits: Limits) -> list[dict[str, Any]]:
    """RLIMIT_CPU and RLIMIT_FSIZE, soft equal to hard."""
    result = []
    if (cpu := limits.rounded_cputime()) is not None:
        result.append({"Name": "cpu", "Soft": cpu, "Hard": cpu})
    if limits.file_size is not None:
        result.append({"Name": "fsize", "Soft": limits.file_size, "Hard": limits.file_size})
    return result


def tmpfs_size(limits: Limits) -> str:
    """A tmpfs's size: the disk limit, or the memory limit if lower (its pages are memory)."""
    sizes = [size for size in (limits.disk, limits.memory) if size is not None]
    return f"{min(sizes)}m" if sizes else TMPFS_UNLIMITED


@cache
def seccomp_profile() -> str:
    """graderq's seccomp profile (seccomp.json beside this module), as compact JSON.

    Docker 20.10's default profile less io_uring and a few calls no grader needs; see
    the profile's own "removed" and "comment" keys.
    """
    text = resources.files("graderq.sandbox").joinpath("seccomp.json").read_text()
    return json.dumps(json.loads(text), separators=(",", ":"))


def io_throttle(limits: Limits, device: str | None) -> dict[str, Any]:
    """blkio throttles on the sandbox's disk: `io_write` MB/s, `io_iops` reads and writes/s.

    cgroup v1 throttles what reaches the device from the sandbox's own processes: direct
    I/O and fsync'd writes; buffered writes are throttled only as far as the sandbox
    itself writes them back (fsync, memory pressure), not when the kernel's flusher does.
    """
    if device is None:
        return {}
    config: dict[str, Any] = {}
    if limits.io_write is not None:
        rate = max(1, int(limits.io_write * MIB))
        config["BlkioDeviceWriteBps"] = [{"Path": device, "Rate": rate}]
    if limits.io_iops is not None:
        config["BlkioDeviceWriteIOps"] = [{"Path": device, "Rate": limits.io_iops}]
        config["BlkioDeviceReadIOps"] = [{"Path": device, "Rate": limits.io_iops}]
    return config


def network_mode(spec: ContainerSpec) -> str:
    """ "none", or the sandbox's own network: never one that another sandbox is on."""
    if spec.network_disabled:
        return "none"
    if spec.network is None:
        raise ValueError("a sandbox with network needs a network of its own (spec.network)")
    return spec.network


def host_config(spec: ContainerSpec) -> dict[str, Any]:
    """HostConfig fields (Docker API names): limits, hardening, the writable mounts.

    With a `disk` limit the root is read-only whatever the profile says (overlay2 has
    no size bound here) and every writable place is bounded: /sandbox is the volume
    given (a workdir, or a disk the backend made for the files) or a tmpfs, and a
    profile that is not read-only gets /tmp and /var/tmp as tmpfs.

    /sandbox is the sandbox's own on any image, whatever the image has there (nothing,
    root's 0755, another owner's): a volume is mounted without Docker's copy of the
    image's /sandbox (NoCopy: that copy also gave the volume's root the image's owner
    and mode), its root made writable by the backend; a tmpfs belongs to the sandbox's
    UID (runc gives it the mode of the image's directory, if there is one).
    """
    limits = spec.limits
    bounded = limits.disk is not None
    config: dict[str, Any] = {
        "CapDrop": ["ALL"],
        "SecurityOpt": ["no-new-privileges", f"seccomp={seccomp_profile()}"],
        "MaskedPaths": list(MASKED_PATHS),
        "ReadonlyPaths": list(READONLY_PATHS),
        "Privileged": False,
        "LogConfig": {"Type": "none", "Config": {}},
        "ReadonlyRootfs": spec.read_only or bounded,
        "Ulimits": ulimits(limits),
        "PidsLimit": limits.processes if limits.processes is not None else -1,
        "NetworkMode": network_mode(spec),
        "Mounts": [],
        **io_throttle(limits, spec.device),
    }
    if not spec.network_disabled:
        # ndots set: Docker's embedded DNS answers a one-label name it does not know (a
        # container's name or short ID) at once, empty, instead of forwarding it out.
        config["DnsOptions"] = list(DNS_OPTIONS)
    if limits.memory is not None:
        memory = limits.memory * 1024 * 1024
        config["Memory"] = memory
        config["MemorySwap"] = memory  # memory + swap: no swap at all
    tmpfs = f"rw,exec,nosuid,nodev,size={tmpfs_size(limits)},mode=1777"
    if spec.volume is not None:
        config["Mounts"].append(
            {
                "Type": "volume",
                "Source": spec.volume,
                "Target": WORKDIR,
                "VolumeOptions": {"NoCopy": True},
            }
        )
    else:
        # Nothing to write in before start: a tmpfs, bounded by the memory limit too,
        # owned by the sandbox.
        owner = spec.owner
        config["Tmpfs"] = {WORKDIR: tmpfs + (f",uid={owner[0]},gid={owner[1]}" if owner else "")}
    if bounded and not spec.read_only:
        config.setdefault("Tmpfs", {}).update({path: tmpfs for path in SCRATCH})
    if spec.runtime is not None:
        config["Runtime"] = spec.runtime
    return config


def create_body(spec: ContainerSpec) -> dict[str, Any]:
    """The body of POST /containers/create for `spec`."""
    return {
        "Image": spec.image,
        "Cmd": spec.argv,
        "User": spec.user,
        "Env": [f"HOME={WORKDIR}"],
        "WorkingDir": WORKDIR,
        "OpenStdin": True,
        "StdinOnce": True,
        "AttachStdin": True,
        "AttachStdout": True,
        "AttachStderr": True,
        "Tty": False,
        "NetworkDisabled": spec.network_disabled,
        "Labels": spec.labels,
        "HostConfig": host_config(spec),
    }
