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
from tests.attacks.support import (
    assert_still_works,
    fields,
    plain_engine,
    probe,
    volume_folder,
    wait_for_file,
)

pytestmark = pytest.mark.timeout(90)


def test_one_sandbox_using_up_per_user_quotas_leaves_another_its_own(
    engine: graderq.Engine,
) -> None:
    """The taker holds every quota until told to stop; the other sandbox, its own UID
    (a run without a workdir), then asks for each. The test process passes the word
    through the taker's workdir on the host: no sandbox can reach another's files."""
    limits = {"realtime": 30, "cputime": 10}
    plain = plain_engine()
    with plain.working_directory() as workdir:
        built = engine.run(
            "gcc_compile", "gcc -O1 -o quotas quotas.c", files=[probe("quotas.c")], workdir=workdir
        )
        assert built["exit_code"] == 0, built
        folder = volume_folder(workdir.volume)
        binary = {"name": "quotas", "content": (folder / "quotas").read_bytes(), "executable": True}
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
            wait_for_file(folder / "ready", timeout=25)
            got = engine.run(
                "gcc_run", "./quotas get; echo uid $(id -u)", files=[binary], limits=limits
            )
            (folder / "done").touch()
            taken = taking.result(timeout=60)

    took = fields(taken["stdout"])
    count, error = took["inotify"].split()
    assert error == "EMFILE" and 0 < int(count) <= 128, taken
    count, error = took["mqueue"].split()
    assert error == "EMFILE" and int(count) > 0, taken
    count, error = took["signals"].split()
    assert error == "EAGAIN" and int(count) > 1000, taken
    outcomes = fields(got["stdout"])
    assert outcomes.pop("uid") != took["uid"], "the two sandboxes ran as one host user"
    assert outcomes == {"inotify": "ok", "mqueue": "ok", "signal": "ok", "timer": "ok"}, got
    assert_still_works(engine)
