"""Accounting on fake cgroup trees: v1 and v2, the cgroupfs and the systemd driver."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from graderq.sandbox import accounting as accounting_module
from graderq.sandbox.accounting import Accounting, Usage
from graderq.sandbox.docker_backend import DockerBackend
from graderq.sandbox.outcome import _oom_since

NAME = "graderq-0123456789abcdef"


def v2_tree(root: Path) -> Path:
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.procs").write_text("1\n")
    return root


def fill_v2(path: Path, usec: int, peak: int, oom_kills: int = 0) -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / "cpu.stat").write_text(f"usage_usec {usec}\nuser_usec {usec}\nsystem_usec 0\n")
    (path / "memory.peak").write_text(f"{peak}\n")
    (path / "memory.events").write_text(
        f"low 0\nhigh 0\nmax 3\noom {oom_kills}\noom_kill {oom_kills}\noom_group_kill 0\n"
    )


@pytest.fixture(autouse=True)
def no_systemctl(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never ask this machine's systemd to stop a unit from a unit test."""
    monkeypatch.setattr(accounting_module.shutil, "which", lambda name: None)


def test_systemd_driver_on_v2_uses_a_slice_per_sandbox(tmp_path: Path) -> None:
    accounting = Accounting(v2_tree(tmp_path), driver="systemd")
    assert accounting.supported() and accounting.version == 2
    assert accounting.parent(NAME) == f"{NAME}.slice"
    # systemd nests graderq-<hex>.slice inside graderq.slice.
    slice_dir = tmp_path / "graderq.slice" / f"{NAME}.slice"
    fill_v2(slice_dir, usec=250_000, peak=8192)
    (slice_dir / f"docker-{'a' * 64}.scope").mkdir()
    before = accounting.begin(NAME)
    assert before == 0.25
    fill_v2(slice_dir, usec=1_750_000, peak=65536, oom_kills=1)
    assert accounting.usage(NAME, before) == Usage(1.5, 65536, 1)
    assert accounting.watch(NAME, 1.0)() and not accounting.watch(NAME, 2.0)()


def test_systemd_slices_are_listed_by_sandbox_name_and_released(tmp_path: Path) -> None:
    accounting = Accounting(v2_tree(tmp_path), driver="systemd")
    assert accounting.parents() == {}
    slice_dir = tmp_path / "graderq.slice" / f"{NAME}.slice"
    slice_dir.mkdir(parents=True)
    os.utime(slice_dir, (20, 20))
    (tmp_path / "graderq.slice" / "cgroup.procs").write_text("")
    (tmp_path / "graderq.slice" / "stray").mkdir()  # not a slice: not graderq's
    assert accounting.parents() == {NAME: 20}
    accounting.release(NAME)
    assert not slice_dir.exists()
    assert accounting.parents() == {}
    assert accounting.usage(NAME, 0.0) == Usage(None, None, None)


def test_release_asks_systemd_to_stop_the_slice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    monkeypatch.setattr(accounting_module.shutil, "which", lambda name: "/bin/systemctl")
    monkeypatch.setattr(
        accounting_module.subprocess, "run", lambda argv, **kwargs: calls.append(argv)
    )
    Accounting(v2_tree(tmp_path), driver="systemd").release(NAME)
    assert calls == [["/bin/systemctl", "stop", f"{NAME}.slice"]]
    Accounting(tmp_path, driver="cgroupfs").release(NAME)
    assert len(calls) == 1  # a plain directory: nothing to ask systemd


def test_cgroupfs_driver_on_v2_uses_a_plain_path(tmp_path: Path) -> None:
    accounting = Accounting(v2_tree(tmp_path), driver="cgroupfs")
    assert accounting.parent(NAME) == f"/graderq/{NAME}"
    fill_v2(tmp_path / "graderq" / NAME, usec=2_000_000, peak=1024, oom_kills=2)
    assert accounting.oom_kills(NAME) == 2
    assert accounting.usage(NAME, 0.5) == Usage(1.5, 1024, 2)


@pytest.mark.parametrize(
    ("driver", "relative"),
    [("cgroupfs", f"graderq/{NAME}"), ("systemd", f"graderq.slice/{NAME}.slice")],
)
def test_v1_reads_cpuacct_and_memory(tmp_path: Path, driver: str, relative: str) -> None:
    cpu, memory = tmp_path / "cpuacct" / relative, tmp_path / "memory" / relative
    cpu.mkdir(parents=True)
    memory.mkdir(parents=True)
    (cpu / "cpuacct.usage").write_text("3000000000\n")
    (memory / "memory.max_usage_in_bytes").write_text("999\n")
    accounting = Accounting(tmp_path, driver=driver)
    assert accounting.supported() and accounting.version == 1
    assert accounting.begin(NAME) == 3.0
    assert (memory / "memory.max_usage_in_bytes").read_text() == "0"  # the watermark reset
    assert accounting.usage(NAME, 1.0) == Usage(2.0, 0, None)
    assert accounting.oom_kills(NAME) is None  # v1: Docker's OOMKilled alone
    (cpu / "cpuacct.usage").unlink()  # a real cgroup's files go with its directory
    (memory / "memory.max_usage_in_bytes").unlink()
    accounting.release(NAME)
    assert not cpu.exists() and not memory.exists()


def test_an_unknown_driver_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cgroup driver"):
        Accounting(tmp_path, driver="nspawn")


def test_an_oom_kill_counts_only_during_this_start() -> None:
    assert _oom_since(0, 1)
    assert not _oom_since(1, 1)  # an earlier start's kill
    assert not _oom_since(None, 1) and not _oom_since(0, None)


class FakeAPI:
    def __init__(self, driver: str) -> None:
        self.driver = driver

    def info(self) -> dict[str, str]:
        return {"CgroupDriver": self.driver}


@pytest.mark.parametrize(
    ("driver", "local", "expected"),
    [
        ("cgroupfs", True, "cgroupfs"),
        ("systemd", True, "systemd"),
        ("systemd", False, None),
        ("none", True, None),
    ],
)
def test_the_backend_accounts_with_either_driver_on_its_own_host(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, driver: str, local: bool, expected: str | None
) -> None:
    monkeypatch.setattr(Accounting, "supported", lambda self: True)
    backend = DockerBackend(None, 5.0, tmp_path)
    backend._api = FakeAPI(driver)  # type: ignore[assignment]
    monkeypatch.setattr(DockerBackend, "local", property(lambda self: local))
    found = backend.accounting
    assert (found.driver if found else None) == expected


class FakeDoctorBackend:
    default_runtime = "runsc"
    accounting = None

    def __init__(self, local: bool, driver: str) -> None:
        self.local = local
        self.api = self
        self.driver = driver

    def info(self) -> dict[str, object]:
        return {
            "CgroupVersion": "2",
            "CgroupDriver": self.driver,
            "Runtimes": {"runc": {"path": "runc"}},
            "DefaultRuntime": "runc",
        }


def test_doctor_reports_the_host_and_how_to_turn_accounting_on() -> None:
    from graderq.cli.doctor import Status, check_host
    from graderq.profiles import Profile

    profiles = {"p": Profile(name="p", docker_image="img")}
    host, accounting, runtime = check_host(FakeDoctorBackend(False, "systemd"), profiles)  # type: ignore[arg-type]
    assert host.detail.startswith("cgroup v2, Docker's cgroup driver systemd, runtimes runc")
    assert accounting.status is Status.WARN and "total CPU is off" in accounting.detail
    assert "on the Docker host itself" in accounting.fix
    assert runtime.status is Status.FAIL and "'runsc'" in runtime.detail
    _, odd, _ = check_host(FakeDoctorBackend(True, "nspawn"), profiles)  # type: ignore[arg-type]
    assert "native.cgroupdriver=systemd" in odd.fix
