"""What a bounded disk costs a run with files: `disk` 256 MB against `disk: None`.

A run given files needs a writable /sandbox before it starts. With a `disk` limit that
is an ext4 image on a loop device, made and removed around the run; without one it is
Docker's anonymous volume (unbounded). Both run round-robin in one process, the order
alternating, so machine noise hits them alike; the ratio of the medians is printed.

    .venv/bin/python bench/disk.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import statistics
import time

import graderq

PROFILE = "python"
FILES = [{"name": "main.py", "content": "print(42)\n"}]
CONTENDERS = {"disk 256 MB": {"disk": 256}, "disk None (anonymous volume)": {"disk": None}}


def measure(limits: dict[str, int | None]) -> float:
    started = time.perf_counter()
    result = graderq.run(PROFILE, "python3 main.py", files=FILES, limits=limits)
    elapsed = time.perf_counter() - started
    if result["stdout"] != b"42\n":
        raise RuntimeError(f"the run failed: {result}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for limits in CONTENDERS.values():
        measure(limits)  # warm-up
    for round_ in range(args.rounds):
        order = list(CONTENDERS.items())
        for name, limits in order if round_ % 2 else reversed(order):
            times[name].append(measure(limits))
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    for name, median in medians.items():
        print(f"{name:32s} median {median:7.1f} ms")
    bounded, unbounded = medians.values()
    print(f"cost of the bounded disk: {bounded - unbounded:+.1f} ms ({bounded / unbounded:.3f}x)")


if __name__ == "__main__":
    main()
