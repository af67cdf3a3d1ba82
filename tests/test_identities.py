import multiprocessing
import time
from pathlib import Path

import pytest

from graderq.addresses import parse_subnets
from graderq.errors import DockerError, DockerUnavailable, TooManySandboxes
from graderq.sandbox.identities import FOREIGN_GRACE, Identities, workdir_record
from graderq.sandbox.networks import bridge_name, subnet_of


def pool(lock_dir: Path, slots: int = 4, alive: frozenset[str] = frozenset()) -> Identities:
    return Identities(100000, slots, lambda name: name in alive, lock_dir)


def test_concurrent_holders_get_distinct_uids_and_the_pools_one_gid(tmp_path: Path) -> None:
    """Two pools on one lock dir stand for two worker processes of one machine."""
    first, second = pool(tmp_path), pool(tmp_path)
    taken = [first.take("a"), second.take("b"), first.take("c"), second.take("d")]

    assert sorted(identity.uid for identity in taken) == [100001, 100002, 100003, 100004]
    assert {identity.gid for identity in taken} == {100000}
    assert taken[0].user == f"{taken[0].uid}:100000"
    with pytest.raises(TooManySandboxes, match="all 4 host UIDs"):
        first.take("e")
    second.release("b")
    assert first.take("e").uid == taken[1].uid


def test_a_slot_whose_last_container_still_exists_is_skipped(tmp_path: Path) -> None:
    """Its process died (or failed to remove it), so its lock is free: not its UID."""
    identities = pool(tmp_path, slots=2, alive=frozenset({"orphan"}))
    orphaned = identities.take("orphan")
    identities.release("orphan")  # as if its process had died

    for holder in ("x", "y"):
        assert identities.take(holder).slot != orphaned.slot
        identities.release(holder)
    assert identities.take("x").slot != orphaned.slot
    with pytest.raises(TooManySandboxes):
        identities.take("y")


def test_an_unreachable_engine_is_said_not_a_full_pool(tmp_path: Path) -> None:
    """Every slot names a past container: with no engine to ask, that is the error."""
    used = pool(tmp_path, slots=2)
    held = [used.take(holder) for holder in ("a", "b")]  # both slots, then both free again
    assert {identity.slot for identity in held} == {0, 1}
    for holder in ("a", "b"):
        used.release(holder)

    def unreachable(name: str) -> bool:
        raise DockerUnavailable("the Docker engine is unreachable")

    with pytest.raises(DockerUnavailable):
        Identities(100000, 2, unreachable, tmp_path).take("c")
    assert {used.take("x").slot, used.take("y").slot} == {0, 1}  # no lock was kept

    def failing(name: str) -> bool:
        raise DockerError("inspect failed")

    used.release("x")
    with pytest.raises(TooManySandboxes):  # cannot tell: the slot is skipped
        Identities(100000, 2, failing, tmp_path).take("z")


def _hold(lock_dir: Path, ready: "multiprocessing.synchronize.Event") -> None:
    pool(lock_dir, slots=1).take("held")
    ready.set()
    multiprocessing.Event().wait(30)


def test_a_slot_is_held_for_other_processes_until_its_holder_dies(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=_hold, args=(tmp_path, ready))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(TooManySandboxes):
            pool(tmp_path, slots=1).take("mine")
    finally:
        holder.kill()
        holder.join()
    assert pool(tmp_path, slots=1).take("mine").slot == 0


def workdir_pool(lock_dir: Path, volumes: set[str], slots: int = 2) -> Identities:
    """A pool of node "n1" whose engine holds the volumes `volumes` (and no container)."""
    return Identities(
        100000, slots, lambda name: False, lock_dir, volumes.__contains__, lambda: "n1"
    )


def test_a_workdirs_slot_is_kept_by_its_record_while_its_volume_exists(tmp_path: Path) -> None:
    """No lock holds it (the workdir outlives its maker): the record and the volume do."""
    volumes = {"wd"}
    identities = workdir_pool(tmp_path, volumes)
    workdir = identities.take("wd")
    identities.hand_over("wd", workdir_record("n1", "wd", time.time() + 60))

    other = workdir_pool(tmp_path, volumes)  # another process of the machine
    assert other.take("a").slot != workdir.slot
    with pytest.raises(TooManySandboxes):
        other.take("b")
    volumes.discard("wd")  # removed, by its owner or the janitor: the UID is free again
    assert other.take("b").slot == workdir.slot


def test_another_daemons_workdir_keeps_its_slot_until_past_its_expiry(tmp_path: Path) -> None:
    """Its volume cannot be inspected from here: kept while it may exist, then freed."""
    identities = workdir_pool(tmp_path, set(), slots=1)
    identities.take("x")
    identities.hand_over("x", workdir_record("n2", "wd", time.time() + 60))
    with pytest.raises(TooManySandboxes):
        identities.take("y")

    stale = time.time() - FOREIGN_GRACE - 1
    (tmp_path / "0.lock").write_text(workdir_record("n2", "wd", stale))
    assert identities.take("y").slot == 0


def test_a_record_that_cannot_be_read_keeps_its_slot(tmp_path: Path) -> None:
    (tmp_path / "0.lock").write_text("workdir n2 wd not-a-time")
    with pytest.raises(TooManySandboxes):
        workdir_pool(tmp_path, set(), slots=1).take("y")


def test_a_recorded_slot_outside_the_pool_has_no_identity(tmp_path: Path) -> None:
    identities = pool(tmp_path, slots=4)
    assert identities.slot_identity("3") == identities.identity(3)
    assert identities.slot_identity("4") is None and identities.slot_identity("x") is None


def test_each_slot_has_its_own_bridge_and_subnet() -> None:
    subnets = parse_subnets("198.18.0.0/16", 1024)
    assert str(subnet_of(subnets, 0)) == "198.18.0.0/28"
    assert str(subnet_of(subnets, 1023)) == "198.18.63.240/28"
    assert bridge_name(1023) == "gqsb1023" and len(bridge_name(2**20 - 1)) <= 15
    with pytest.raises(ValueError, match="fewer than"):
        parse_subnets("198.18.0.0/24", 17)
    with pytest.raises(ValueError, match="not an IPv4 CIDR"):
        parse_subnets("198.18.0.1/16")
