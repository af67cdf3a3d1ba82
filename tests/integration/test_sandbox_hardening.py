"""The isolation every sandbox runs under, seen from inside the sandbox and through the
engine's inspect: network, capabilities, privileges, logging, labels and cleanup."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import docker
import pytest

import graderq
from tests.integration.support import MIB, OWNER, our_containers, pool_gid, pooled_uid

pytestmark = pytest.mark.timeout(60)

STATUS = "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status"


def interfaces(proc_net_dev: bytes) -> set[str]:
    """Interface names in the text of /proc/net/dev (the two header lines skipped)."""
    lines = proc_net_dev.decode().splitlines()[2:]
    return {line.split(":", 1)[0].strip() for line in lines if ":" in line}


def status_fields(text: bytes) -> dict[str, str]:
    return dict(re.findall(r"^(\w+):\s*(\S+)$", text.decode(), re.MULTILINE))


# --- network -----------------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["python", "gcc_compile", "gcc_run"])
def test_shipped_profiles_have_no_network(engine: graderq.Engine, profile: str) -> None:
    result = engine.run(profile, "cat /proc/net/dev")

    assert result["exit_code"] == 0
    assert interfaces(result["stdout"]) == {"lo"}


def test_a_profile_may_enable_the_network(extra_engine: graderq.Engine) -> None:
    """The contrast that makes the no-network test meaningful; nothing is sent."""
    result = extra_engine.run("networked", "cat /proc/net/dev")

    assert "lo" in interfaces(result["stdout"])
    assert interfaces(result["stdout"]) - {"lo"}, "no interface besides lo"


# --- capabilities and privileges ---------------------------------------------------------


@pytest.mark.parametrize(
    ("engine_fixture", "profile"), [("engine", "python"), ("extra_engine", "root")]
)
def test_no_capabilities_and_no_new_privileges(
    request: pytest.FixtureRequest, engine_fixture: str, profile: str
) -> None:
    engine = request.getfixturevalue(engine_fixture)
    result = engine.run(profile, f"id -u; {STATUS}")

    pooled_uid(result["stdout"].splitlines()[0])  # a profile's `root` too
    fields = status_fields(result["stdout"])
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(fields[cap], 16) == 0, f"{cap} is {fields[cap]} for {profile}"
    assert fields["NoNewPrivs"] == "1"


def test_root_in_the_sandbox_cannot_use_root_powers(extra_engine: graderq.Engine) -> None:
    """A profile asking for root runs as a pooled UID, like every profile (root would
    share host root's per-user quotas with the host itself), and without capabilities:
    it can neither give a file away nor read a file whose mode forbids it, nor mknod."""
    result = extra_engine.run(
        "root",
        "id -u; echo secret > f; chmod 000 f; "
        "chown 1000 f 2>/dev/null && echo chown-ok; "
        "cat f 2>/dev/null && echo read-ok; "
        "mknod dev c 1 3 2>/dev/null && echo mknod-ok; echo end",
    )

    uid, rest = result["stdout"].split(b"\n", 1)
    pooled_uid(uid)
    assert rest == b"end\n", result


def test_docker_socket_is_not_mounted(extra_engine: graderq.Engine) -> None:
    result = extra_engine.run(
        "root",
        "for p in /var/run/docker.sock /run/docker.sock; do "
        "test -e $p && echo $p present; done; echo checked",
    )

    assert result["stdout"] == b"checked\n"


def test_the_container_is_hardened(
    engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    with engine.create("python", "true", limits={"cputime": 2, "file_size": 4096}) as sandbox:
        info = docker_client.api.inspect_container(sandbox.container)
    host = info["HostConfig"]

    assert host["Privileged"] is False
    assert [cap.upper() for cap in host["CapDrop"]] in (["ALL"], ["CAP_ALL"])
    assert not host.get("CapAdd")
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["LogConfig"]["Type"] == "none"
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["Memory"] == 64 * MIB
    assert host["PidsLimit"] == 64
    ulimits = {u["Name"]: (u["Soft"], u["Hard"]) for u in host["Ulimits"]}
    assert ulimits == {"cpu": (2, 2), "fsize": (4096, 4096)}
    assert not host.get("Binds")
    assert not host.get("Devices")
    mounts = info["Mounts"]
    # /sandbox alone: a tmpfs here (read-only profile, no files), else a volume.
    assert [m["Destination"] for m in mounts] + list(host.get("Tmpfs") or {}) == ["/sandbox"]
    assert all("docker.sock" not in (m.get("Source") or "") for m in mounts)
    uid, _, gid = info["Config"]["User"].partition(":")
    pooled_uid(uid)
    assert int(gid) == pool_gid()
    assert "HOME=/sandbox" in info["Config"]["Env"]
    assert info["Config"]["WorkingDir"] == "/sandbox"


# --- labels ------------------------------------------------------------------------------


def test_containers_and_their_volumes_are_labelled(
    engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    files = [{"name": "a.txt", "content": b"a"}]  # with files /sandbox is a volume
    with engine.create("python", "true", files=files) as sandbox:
        info = docker_client.api.inspect_container(sandbox.container)
        labels = info["Config"]["Labels"]
        (mount,) = info["Mounts"]
        volume_labels = docker_client.api.inspect_volume(mount["Name"])["Labels"]

    assert labels["graderq"] == "sandbox"
    assert labels["graderq.profile"] == "python"
    assert labels["graderq.owner"] == OWNER
    assert abs(int(labels["graderq.created"]) - time.time()) < 60
    assert volume_labels["graderq"] == "sandbox"
    assert volume_labels["graderq.owner"] == OWNER


def test_a_running_sandbox_is_labelled(
    engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(engine.run, "python", "sleep 1; echo done", limits={"realtime": 5})
        running = wait_for_running(docker_client, deadline=time.monotonic() + 10)
        info = docker_client.api.inspect_container(running)
        result = future.result(timeout=15)

    assert info["State"]["Running"] is True
    assert info["Config"]["Labels"]["graderq"] == "sandbox"
    assert info["Config"]["Labels"]["graderq.profile"] == "python"
    assert info["Config"]["Labels"]["graderq.owner"] == OWNER
    assert result["stdout"] == b"done\n"


def wait_for_running(client: docker.DockerClient, deadline: float) -> str:
    """Poll (with a deadline) for a running container of this process."""
    while time.monotonic() < deadline:
        running = client.containers.list(
            sparse=True, filters={"label": f"graderq.owner={OWNER}", "status": "running"}
        )
        if running:
            return running[0].id
    raise AssertionError("no sandbox of this process started running in time")


# --- cleanup -----------------------------------------------------------------------------


def test_no_container_is_left_after_runs_that_end_every_way(
    engine: graderq.Engine, extra_engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    engine.run("python", "exit 1")
    engine.run("python", "sleep 10", limits={"realtime": 0.5})
    engine.run("python", "python3 -c 'bytearray(100 * 1024 * 1024)'", limits={"memory": 16})
    engine.run("python", "head -c 5000 /dev/zero", limits={"output": 100})
    with pytest.raises(graderq.DockerError):
        extra_engine.run("missing_image", "true")

    assert not our_containers(docker_client)


def test_read_only_profile_without_files_writes_only_to_a_bounded_sandbox(
    engine: graderq.Engine,
) -> None:
    result = engine.run(
        "python",
        "echo kept > note && cat note; touch /etc/x 2>/dev/null || echo root-is-read-only; "
        "head -c 40M /dev/zero > big; echo big=$?",
        limits={"memory": 32, "realtime": 10},
    )
    lines = result["stdout"].decode().splitlines()
    assert lines[:2] == ["kept", "root-is-read-only"]
    # 40 MB never fits: the tmpfs is as large as the memory limit and charged to it.
    # Either the write fails, or the OOM killer ends it (and maybe the shell with it).
    assert "big=0" not in lines, result
