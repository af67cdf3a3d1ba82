"""Per-user kernel quotas: one sandbox using up its own leaves another's intact.

The kernel counts inotify instances (fs.inotify.max_user_instances), POSIX message-queue
bytes (RLIMIT_MSGQUEUE) and pending signals (RLIMIT_SIGPENDING) per host user. When
every sandbox ran as host UID 1000, one sandbox that took them all left every other
sandbox on the host without: "Too many open files" from inotify_init, EMFILE from
mq_open, EAGAIN from sigqueue and timer_create. Each sandbox now runs as a host UID of
its own (graderq/sandbox/identities.py). PTYs have their own test (test_isolation.py:
there are none).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

import graderq
from tests.attacks.support import assert_still_works, fields, probe

pytestmark = pytest.mark.timeout(90)

WAIT_READY = "for i in $(seq 300); do [ -e ready ] && break; sleep 0.05; done; "


def test_one_sandbox_using_up_per_user_quotas_leaves_another_its_own(
    engine: graderq.Engine,
) -> None:
    limits = {"realtime": 30, "cputime": 10}
    with engine.working_directory() as workdir:
        built = engine.run(
            "gcc_compile", "gcc -O1 -o quotas quotas.c", files=[probe("quotas.c")], workdir=workdir
        )
        assert built["exit_code"] == 0, built
        with (
            engine.create(
                "gcc_run",
                "./quotas take ready done; echo uid $(id -u)",
                workdir=workdir,
                limits=limits,
            ) as taker,
            ThreadPoolExecutor(1) as pool,
        ):
            taking = pool.submit(engine.start, taker)
            got = engine.run(
                "gcc_run",
                WAIT_READY + "test -e ready && echo ready yes; ./quotas get; touch done; "
                "echo uid $(id -u)",
                workdir=workdir,
                limits=limits,
            )
            taken = taking.result(timeout=60)

    took = fields(taken["stdout"])
    count, error = took["inotify"].split()
    assert error == "EMFILE" and 0 < int(count) <= 128, taken
    count, error = took["mqueue"].split()
    assert error == "EMFILE" and int(count) > 0, taken
    count, error = took["signals"].split()
    assert error == "EAGAIN" and int(count) > 1000, taken
    outcomes = fields(got["stdout"])
    assert outcomes.pop("ready") == "yes", got
    assert outcomes.pop("uid") != took["uid"], "the two sandboxes ran as one host user"
    assert outcomes == {"inotify": "ok", "mqueue": "ok", "signal": "ok", "timer": "ok"}, got
    assert_still_works(engine)
