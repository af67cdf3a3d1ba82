"""Privileged system calls, tried from C and from Python as the sandbox user and as
root, with and without a network: every one is refused (capabilities dropped, the
default seccomp profile, read-only /proc/sys and cgroupfs)."""

from __future__ import annotations

import pytest

import graderq
from tests.attacks.support import assert_still_works, fields, probe

pytestmark = pytest.mark.timeout(60)

ATTEMPTS = {
    "unshare_user",
    "unshare_mount",
    "unshare_net",
    "mount",
    "chroot",
    "pivot_root",
    "setuid",
    "mknod",
    "reboot",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "keyctl",
    "add_key",
    "bpf",
    "perf_event_open",
    "open_by_handle_at",
    "userfaultfd",
    "swapon",
    "iopl",
    "sethostname",
    "acct",
    "clock_settime",
    "raw_socket",
    "packet_socket",
    "sysrq_trigger",
    "sysctl_write",
    "cgroup_pids_max",
    "cgroup_memory_limit",
}


@pytest.mark.parametrize("profile", ["gcc_compile", "gcc_root", "gcc_root_networked"])
def test_privileged_calls_are_refused(engine: graderq.Engine, profile: str) -> None:
    result = engine.run(
        profile,
        "gcc -o privcalls privcalls.c && ./privcalls",
        files=[probe("privcalls.c")],
        limits={"cputime": 5, "realtime": 20},
    )

    assert result["exit_code"] == 0, result
    outcomes = fields(result["stdout"])
    assert set(outcomes) == ATTEMPTS | {"ptrace_own_pid1"}
    allowed = {name for name in ATTEMPTS if outcomes[name] == "ok"}
    assert not allowed, f"allowed in {profile}: {sorted(allowed)}"
    assert_still_works(engine)


PYTHON_ATTEMPTS = {
    "raw_socket",
    "packet_socket",
    "chroot",
    "mknod",
    "setuid",
    "setgid",
    "setgroups",
    "sysctl_write",
    "cgroup_pids_max",
}


@pytest.mark.parametrize("profile", ["python", "root", "networked"])
def test_privileged_calls_from_python_are_refused(engine: graderq.Engine, profile: str) -> None:
    result = engine.run(profile, "python3 privcalls.py", files=[probe("privcalls.py")])

    assert result["exit_code"] == 0, result
    outcomes = fields(result["stdout"])
    assert set(outcomes) == PYTHON_ATTEMPTS
    allowed = {name for name, outcome in outcomes.items() if outcome == "ok"}
    assert not allowed, f"allowed in {profile}: {sorted(allowed)}"
    assert_still_works(engine)
