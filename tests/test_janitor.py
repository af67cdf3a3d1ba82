import os
import subprocess
import time
from pathlib import Path

from graderq.sandbox.accounting import Accounting, Usage
from graderq.sandbox.janitor import container_abandoned, pid_alive, workdir_expired


def labels(owner: str, created: float = 1000) -> dict[str, str]:
    return {"graderq": "sandbox", "graderq.owner": owner, "graderq.created": str(created)}


def test_container_of_a_dead_local_owner_is_abandoned() -> None:
    def alive(pid: int) -> bool:
        return pid == 1

    assert container_abandoned(labels("h:2"), 1001, 60, "h", alive)
    assert not container_abandoned(labels("h:1"), 1001, 60, "h", alive)


def test_other_hosts_containers_are_only_abandoned_when_too_old() -> None:
    def dead(pid: int) -> bool:
        return False

    assert not container_abandoned(labels("other:2"), 1001, 60, "h", dead)
    assert container_abandoned(labels("other:2"), 1061, 60, "h", dead)
    assert container_abandoned({"graderq": "sandbox"}, 1001, 60, "h", dead)  # no created label


def test_workdir_expiry() -> None:
    assert workdir_expired({"graderq.expires": "100"}, 100)
    assert not workdir_expired({"graderq.expires": "100"}, 99)
    assert workdir_expired({}, 0)


def test_pid_alive_sees_zombies_as_dead() -> None:
    assert pid_alive(os.getpid())
    child = subprocess.Popen(["true"])
    # Wait for the exit without reaping: the child is now a zombie, present but not alive.
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
    assert not pid_alive(child.pid)
    child.wait()
    assert not pid_alive(child.pid)


def test_accounting_leftovers_are_released(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu memory\n")  # a cgroup v2 tree
    accounting = Accounting(tmp_path)
    old = tmp_path / "graderq" / "graderq-old"
    old.mkdir(parents=True)
    (old / "cpu.stat").write_text("usage_usec 1500000\nuser_usec 1\n")
    (old / "memory.peak").write_text("4096\n")
    assert accounting.usage("graderq-old", 0.5) == Usage(1.0, 4096)
    assert accounting.leftovers(older_than=time.time() + 1) == {"graderq-old"}
    assert accounting.leftovers(older_than=0) == set()
    (old / "cpu.stat").unlink()
    (old / "memory.peak").unlink()
    accounting.release("graderq-old")
    assert not old.exists()
    assert accounting.usage("graderq-old", 0.0) == Usage(None, None)
