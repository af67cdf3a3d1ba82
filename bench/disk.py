"""What a bounded disk costs a run with files: `disk` 256 MB against `disk: None`.

A run given files needs a writable /sandbox before it starts. With a `disk` limit that
is an ext4 image on a loop device, made and removed around the run; without one it is
Docker's anonymous volume (unbounded). Both run interleaved in one process
(harness.interleave), so machine noise hits them alike; the ratio of the medians is
printed. Then the host's own part of a disk: making and removing one image allocated
in full (fallocate, what graderq does) against a sparse one (what it did).

    .venv/bin/python bench/disk.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from harness import interleave, summary, table

import graderq
from graderq.sandbox import disks
from graderq.settings import get_settings

PROFILE = "python"
FILES = [{"name": "main.py", "content": "print(42)\n"}]
BOUNDED, UNBOUNDED = "disk 256 MB", "disk None (anonymous volume)"
LIMITS = {BOUNDED: {"disk": 256}, UNBOUNDED: {"disk": None}}


def run_with(limits: dict[str, int | None]) -> Callable[[], float]:
    def measure() -> float:
        started = time.perf_counter()
        result = graderq.run(PROFILE, "python3 main.py", files=FILES, limits=limits)
        elapsed = time.perf_counter() - started
        if result["stdout"] != b"42\n":
            raise RuntimeError(f"the run failed: {result}")
        return elapsed

    return measure


ALLOCATED, SPARSE = "256 MB image, allocated", "256 MB image, sparse"


def make_image(allocate: bool) -> Callable[[], float]:
    path = get_settings().disk_dir / "bench" / "bench.img"

    def measure() -> float:
        started = time.perf_counter()
        disks.make(path, 256, allocate=allocate)
        disks.remove(path)
        return time.perf_counter() - started

    return measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    contenders = {name: run_with(limits) for name, limits in LIMITS.items()}
    times = interleave(contenders, args.rounds, warmup=1)
    table(["", "median ms", "p90 ms"], [[name, *summary(times[name])] for name in times])
    bounded, unbounded = (statistics.median(times[name]) * 1000 for name in (BOUNDED, UNBOUNDED))
    print(f"cost of the bounded disk: {bounded - unbounded:+.1f} ms ({bounded / unbounded:.3f}x)")
    images = {ALLOCATED: make_image(True), SPARSE: make_image(False)}
    times = interleave(images, args.rounds, warmup=1)
    table(["", "median ms", "p90 ms"], [[name, *summary(times[name])] for name in times])
    allocated, sparse = (statistics.median(times[name]) * 1000 for name in (ALLOCATED, SPARSE))
    print(f"cost of allocating in full: {allocated - sparse:+.2f} ms per disk")


if __name__ == "__main__":
    main()
