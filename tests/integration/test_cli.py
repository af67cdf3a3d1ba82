"""The installed `graderq` console script against the real Docker engine."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import docker
import pytest

from tests.integration.support import OWNER, fill, run_graderq, volume_exists


def graderq(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_graderq(*args, timeout=120, **env)


def test_run_prints_the_result_and_exits_0() -> None:
    done = graderq("run", "python", "echo hi")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == "hi"
    assert "exit code    0" in done.stdout and "status       ok" in done.stdout
    assert "MiB" in done.stdout or "KiB" in done.stdout  # the measured memory peak


def test_run_with_files_stdin_and_json(tmp_path: Path) -> None:
    (tmp_path / "rev.py").write_text("import sys\nprint(sys.stdin.read()[::-1])\n")
    (tmp_path / "in.txt").write_text("abc")
    done = graderq(
        "run", "python", "python3 solution.py; printf '\\377' >&2",
        "--file", f"solution.py={tmp_path / 'rev.py'}",
        "--stdin-file", str(tmp_path / "in.txt"),
        "--limit", "cputime=2", "--limit", "memory=64", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["stdout"], result["stdout_encoding"]) == ("cba\n", "utf-8")
    assert result["stderr_encoding"] == "base64"
    assert base64.b64decode(result["stderr"]) == b"\xff"
    assert result["exit_code"] == 0 and result["memory_peak"] > 0


@pytest.mark.parametrize(
    ("command", "limits", "key", "value"),
    [
        ("exit 3", [], "exit_code", 3),
        ("while :; do :; done", ["--limit", "cputime=1"], "timeout", True),
        ("yes", ["--limit", "output=1000"], "output_truncated", True),
    ],
)
def test_a_failing_command_exits_1(
    command: str, limits: list[str], key: str, value: object
) -> None:
    done = graderq("run", "python", command, *limits, "--json")
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)[key] == value


def test_bad_input_exits_2_with_the_message_only() -> None:
    unknown = graderq("run", "no-such-profile", "true")
    assert unknown.returncode == 2
    assert "Profile not found: 'no-such-profile'" in unknown.stderr
    assert "Traceback" not in unknown.stderr and unknown.stdout == ""
    ceiling = graderq("run", "python", "true", GRADERQ_LIMIT_CEILINGS__MEMORY="128")
    assert ceiling.returncode == 0, ceiling.stderr
    above = graderq(
        "run", "python", "true", "--limit", "memory=256", GRADERQ_LIMIT_CEILINGS__MEMORY="128"
    )
    assert above.returncode == 2 and "above the operator's ceiling" in above.stderr


def test_unreachable_docker_exits_3(tmp_path: Path) -> None:
    done = graderq("run", "python", "true", GRADERQ_DOCKER_URL=f"unix://{tmp_path}/none.sock")
    assert done.returncode == 3
    assert "Docker engine" in done.stderr and "graderq doctor" in done.stderr


def test_doctor_passes_here() -> None:
    done = graderq("doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAIL" not in done.stdout and "checks passed" in done.stdout
    for name in ("docker", "graderq/python:3.11", "graderq/gcc:12", "broker", "result backend"):
        assert name in done.stdout
    assert "bounded disks work" in " ".join(done.stdout.split())


def test_doctor_fails_when_no_disk_can_be_made_and_warns_when_unbounded(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    failed = graderq("doctor", GRADERQ_DISK_DIR=str(blocked))
    unbounded = graderq("doctor", GRADERQ_DEFAULT_LIMITS__DISK="none")

    assert failed.returncode == 1
    assert "FAIL disks cannot create the sandbox disk" in " ".join(failed.stdout.split())
    assert unbounded.returncode == 0
    assert "WARN disks the default 'disk' limit is None" in " ".join(unbounded.stdout.split())


def test_doctor_fails_on_a_missing_image(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles.toml"
    profiles.write_text('[profiles.ghost]\ndocker_image = "graderq/no-such-image:0"\n')
    done = graderq("doctor", GRADERQ_PROFILES_FILE=str(profiles))
    assert done.returncode == 1
    text = " ".join(done.stdout.split())
    assert "FAIL image graderq/no-such-image:0 (ghost) is not on the Docker engine" in text
    assert "graderq images build --offline" in text


def test_janitor_removes_an_expired_workdir(docker_client: docker.DockerClient) -> None:
    labels = {"graderq": "workdir", "graderq.expires": "1", "graderq.owner": OWNER}
    volume = docker_client.volumes.create(labels=labels).name
    done = graderq("janitor", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["volumes"] >= 1
    assert not volume_exists(docker_client, volume)


def test_doctor_warns_when_the_disk_dir_runs_low(small_disk_dir: Path) -> None:
    """Room for GRADERQ_MAX_DISKS=4 disks of 8 MB needs 32 MB: the empty 64 MB disk dir
    has it, the same dir with 8 MB left does not."""
    env = {
        "GRADERQ_DISK_DIR": str(small_disk_dir),
        "GRADERQ_MAX_DISKS": "4",
        "GRADERQ_DEFAULT_LIMITS__DISK": "8",
    }
    roomy = graderq("doctor", **env)
    fill(small_disk_dir, leave_mb=8)
    low = graderq("doctor", **env)

    assert roomy.returncode == 0 and "OK disk room" in " ".join(roomy.stdout.split())
    text = " ".join(low.stdout.split())
    assert low.returncode == 0, text  # a warning, not a failure
    assert "WARN disk room GRADERQ_DISK_DIR" in text
    assert "less than the 32 MB that 4 more 8 MB disks need" in text
    assert "fix: free space in" in text and "lower GRADERQ_MAX_DISKS to " in text
