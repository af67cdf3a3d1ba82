import os
import socket
import subprocess
from pathlib import Path

from graderq.errors import VolumeInUse
from graderq.limits import Limits
from graderq.sandbox import ContainerSpec, FakeBackend
from graderq.sandbox.accounting import Accounting, Usage
from graderq.sandbox.janitor import (
    DISK_GRACE,
    NETWORK_GRACE,
    Sweep,
    container_abandoned,
    pid_alive,
    sweep,
    sweep_cgroups,
    sweep_containers,
    sweep_disks,
    sweep_networks,
    sweep_volumes,
    workdir_expired,
    workdir_sweep_every,
)
from graderq.settings import Settings


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


def test_accounting_parents_are_listed_and_released(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu memory\n")  # a cgroup v2 tree
    accounting = Accounting(tmp_path)
    assert accounting.parents() == {}  # no sandbox has had one yet
    old = tmp_path / "graderq" / "graderq-old"
    old.mkdir(parents=True)
    (old / "cpu.stat").write_text("usage_usec 1500000\nuser_usec 1\n")
    (old / "memory.peak").write_text("4096\n")
    os.utime(old, (10, 10))
    (tmp_path / "graderq" / "not-a-cgroup").write_text("")
    assert accounting.usage("graderq-old", 0.5) == Usage(1.0, 4096)
    assert accounting.parents() == {"graderq-old": 10}
    (old / "cpu.stat").unlink()
    (old / "memory.peak").unlink()
    accounting.release("graderq-old")
    assert not old.exists()
    assert accounting.parents() == {}
    assert accounting.usage("graderq-old", 0.0) == Usage(None, None)


# --- each sweep's decision, on the fake backend ------------------------------------------

NOW = 10_000.0
HOST = socket.gethostname()


def sandbox(backend: FakeBackend, owner: str, created: float, volume: str | None = None) -> str:
    spec = ContainerSpec("img", "true", Limits(), volume=volume, labels=labels(owner, created))
    return backend.create(spec)


def volume(backend: FakeBackend, kind: str, **extra: str) -> str:
    return backend.create_volume({"graderq": kind, **extra})


def test_containers_without_a_live_owner_are_destroyed() -> None:
    backend = FakeBackend()
    dead = sandbox(backend, f"{HOST}:{dead_pid()}", NOW - 10)
    alive = sandbox(backend, f"{HOST}:{os.getpid()}", NOW - 10)
    elsewhere = sandbox(backend, "elsewhere:1", NOW - 10)
    too_old = sandbox(backend, "elsewhere:1", NOW - 61)
    not_a_sandbox = backend.create(ContainerSpec("img", "true", Limits(), labels={}))

    assert sweep_containers(backend, NOW, max_age=60) == 2
    assert set(backend.containers) == {alive, elsewhere, not_a_sandbox}
    assert {dead, too_old}.isdisjoint(backend.containers)


def test_unused_volumes_are_removed_when_stale_expired_or_lost() -> None:
    backend = FakeBackend()
    old_disk = volume(backend, "sandbox", **{"graderq.created": str(NOW - DISK_GRACE)})
    new_disk = volume(backend, "sandbox", **{"graderq.created": str(NOW - DISK_GRACE + 1)})
    expired = volume(backend, "workdir", **{"graderq.expires": str(NOW)})
    live = volume(backend, "workdir", **{"graderq.expires": str(NOW + 1)})
    lost = volume(backend, "workdir", **{"graderq.expires": str(NOW + 1)})
    backend.lost.add(lost)
    in_use = volume(backend, "workdir", **{"graderq.expires": str(NOW)})
    sandbox(backend, f"{HOST}:{os.getpid()}", NOW, volume=in_use)
    node = volume(backend, "node")
    unlabelled = backend.create_volume({})

    assert sweep_volumes(backend, NOW) == 3
    assert backend.volumes == {new_disk, live, in_use, node, unlabelled}
    assert {old_disk, expired, lost}.isdisjoint(backend.volumes)


def test_a_workdir_expiring_before_the_next_sweep_goes_now() -> None:
    """Swept every 300 s, a workdir would otherwise outlive its TTL by up to 300 s."""
    backend = FakeBackend()
    soon = volume(backend, "workdir", **{"graderq.expires": str(NOW + 299)})
    later = volume(backend, "workdir", **{"graderq.expires": str(NOW + 301)})
    new_disk = volume(backend, "sandbox", **{"graderq.created": str(NOW)})
    assert sweep_volumes(backend, NOW) == 0
    assert sweep_volumes(backend, NOW, lead=300) == 1
    assert soon not in backend.volumes and {later, new_disk} <= backend.volumes


def test_workdirs_are_swept_often_enough_to_go_within_their_ttl() -> None:
    assert workdir_sweep_every(Settings()) == 30  # of a 3600 s TTL
    assert workdir_sweep_every(Settings(janitor_interval=10)) == 10
    assert workdir_sweep_every(Settings(workdir_ttl=60)) == 6  # never a tenth of it early


def test_a_volume_that_cannot_be_removed_is_left_for_the_next_sweep() -> None:
    class Stubborn(FakeBackend):
        def remove_volume(self, name: str) -> None:
            raise VolumeInUse(f"cannot remove the volume {name!r}: it is in use")

    backend = Stubborn()
    expired = volume(backend, "workdir", **{"graderq.expires": "0"})
    assert sweep_volumes(backend, NOW) == 0
    assert expired in backend.volumes


def test_disk_images_without_a_volume_are_removed_once_old_enough() -> None:
    backend = FakeBackend()
    kept = backend.create_volume({"graderq": "workdir"}, disk=8)
    backend.images[kept] = 0
    backend.images["orphan"] = NOW - DISK_GRACE - 1
    backend.images["young"] = NOW - DISK_GRACE  # its volume may be being created

    assert sweep_disks(backend, NOW) == 1
    assert set(backend.images) == {kept, "young"}


def test_cgroups_older_than_any_task_without_a_container_are_released() -> None:
    backend = FakeBackend()
    running = sandbox(backend, f"{HOST}:{os.getpid()}", NOW)
    backend.cgroup_dirs = {running: 0, "gone": NOW - 61, "young": NOW - 59}

    assert sweep_cgroups(backend, NOW, max_age=60) == 1
    assert set(backend.cgroup_dirs) == {running, "young"}


def network_labels(container: str, created: float) -> dict[str, str]:
    return {
        "graderq": "sandbox-network",
        "graderq.container": container,
        "graderq.created": str(created),
    }


def test_networks_whose_sandbox_is_gone_are_removed_after_a_grace() -> None:
    """A network is made just before its container: a young one without it is spared."""
    backend = FakeBackend()
    running = sandbox(backend, f"{HOST}:{os.getpid()}", NOW)
    backend.networks = {
        "kept-net": network_labels(running, 0),
        "orphan-net": network_labels("graderq-gone", NOW - NETWORK_GRACE - 1),
        "young-net": network_labels("graderq-coming", NOW - NETWORK_GRACE + 1),
    }

    assert sweep_networks(backend, NOW) == 1
    assert set(backend.networks) == {"kept-net", "young-net"}


def test_a_network_that_cannot_be_removed_is_left_for_the_next_sweep() -> None:
    class Busy(FakeBackend):
        def remove_network(self, name: str) -> None:
            raise VolumeInUse(f"network {name} has active endpoints")

    backend = Busy()
    backend.networks = {"orphan-net": network_labels("graderq-gone", 0)}

    assert sweep_networks(backend, NOW) == 0
    assert set(backend.networks) == {"orphan-net"}


def test_a_sweep_runs_every_kind_in_order_and_says_what_it_removed() -> None:
    """Destroying a dead owner's container leaves its disk unused: the same sweep
    removes that volume, then the image the volume's removal did not reach."""
    backend = FakeBackend()
    disk = volume(backend, "sandbox", **{"graderq.created": "0"})
    sandbox(backend, f"{HOST}:{dead_pid()}", NOW, volume=disk)
    backend.images["orphan"] = 0
    backend.cgroup_dirs["gone"] = 0
    backend.networks["graderq-gone-net"] = network_labels("graderq-gone", 0)

    assert sweep(backend, max_age=60, now=NOW) == Sweep(
        containers=1, volumes=1, disks=1, networks=1
    )
    assert not backend.containers and not backend.volumes and not backend.images
    assert not backend.cgroup_dirs and not backend.networks
    assert sweep(backend, max_age=60, now=NOW) == Sweep()


def dead_pid() -> int:
    """The PID of a process that has exited and been reaped."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid
