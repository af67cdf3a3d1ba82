"""Attacks through the streams and the request: endless output, huge stdin, many files."""

from __future__ import annotations

import time

import pytest

import graderq
from tests.attacks.support import assert_still_works, peak_rss, reset_peak_rss
from tests.integration.support import MIB

pytestmark = pytest.mark.timeout(60)

FLOODS = {
    "stdout-4GB": ("head -c 4G /dev/zero", "stdout"),
    "stderr-4GB": ("head -c 4G /dev/zero >&2", "stderr"),
    "stdout-endless": ("yes", "stdout"),
    "stderr-random": ("cat /dev/urandom >&2", "stderr"),
}


@pytest.mark.parametrize(("command", "stream"), FLOODS.values(), ids=FLOODS.keys())
def test_endless_output_is_cut_and_the_workers_memory_stays_bounded(
    engine: graderq.Engine, command: str, stream: str
) -> None:
    """A sandbox that prints gigabytes costs this process at most about its 1 MiB cap."""
    before = reset_peak_rss()
    started = time.monotonic()
    result = engine.run("python", command, limits={"output": MIB, "realtime": 10})
    elapsed = time.monotonic() - started
    growth = peak_rss() - before

    assert result["output_truncated"] is True
    assert len(result[stream]) == MIB
    assert result["exit_code"] is None
    assert result["timeout"] is False
    assert elapsed < 5, "killed at the cap, not at the realtime limit"
    assert growth < 16 * MIB, f"peak RSS grew by {growth / MIB:.1f} MiB"
    assert_still_works(engine)


def test_huge_stdin_is_streamed_without_copies(engine: graderq.Engine) -> None:
    size = 50 * MIB
    stdin = b"x" * size
    before = reset_peak_rss()
    started = time.monotonic()
    result = engine.run("python", "wc -c", stdin=stdin, limits={"realtime": 20})
    elapsed = time.monotonic() - started
    growth = peak_rss() - before

    assert result["stdout"] == b"%d\n" % size
    assert result["exit_code"] == 0
    assert elapsed < 15
    assert growth < 16 * MIB, f"peak RSS grew by {growth / MIB:.1f} MiB beyond the stdin"
    assert_still_works(engine)


@pytest.mark.timeout(120)
def test_five_thousand_files_in_one_request(engine: graderq.Engine) -> None:
    """They all arrive. Docker's extraction costs about a millisecond per file, before
    the sandbox starts: no sandbox limit bounds that time, only this test's."""
    files = [{"name": f"d{i % 50}/f{i:04d}", "content": b"%d\n" % i} for i in range(5000)]
    started = time.monotonic()
    result = engine.run("python", "find . -type f | wc -l; cat d49/f4999", files=files)
    elapsed = time.monotonic() - started

    assert result["stdout"] == b"5000\n4999\n"
    assert elapsed < 60
    assert_still_works(engine)
