"""Load: thousands of tiny tasks from several producer threads through 2 worker processes.

    .venv/bin/python bench/load.py [--tasks 2000] [--producers 4] [--broker URL --results URL]

Starts its own `celery -A graderq worker -c 2` on dedicated Redis databases, pushes
the tasks, and checks that none is lost (every task returns its own output), none
ran twice (graderq's per-task delivery counter is 1 for each) and no sandbox
container or disk is left: every second task sends its number as a file, so its
sandbox gets a disk of its own. Prints throughput and p50/p99 latency (submit to
result stored).
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import quantile, table, use_databases, worker

BROKER = "redis://127.0.0.1:6379/10"
RESULTS = "redis://127.0.0.1:6379/11"


def group_pids(group: int) -> set[int]:
    """The processes of a process group (the worker and its pool), from /proc."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[2]) == group:
                pids.add(int(entry.name))
    return pids


def produce(first: int, count: int, latencies: list[float], errors: list[str]) -> None:
    """Submit tasks first..first+count, then collect and check every result."""
    from graderq.queue.tasks import run_sandbox

    sent = []
    for i in range(first, first + count):
        if i % 2:
            files = [{"name": "n", "content": f"{i}\n"}]
            sent.append((i, time.time(), run_sandbox.delay("python", "cat n", files=files)))
        else:
            sent.append((i, time.time(), run_sandbox.delay("python", f"echo {i}")))
    for i, at, result in sent:
        try:
            value = result.get(timeout=600)
        except Exception as exc:  # a lost or failed task is what this bench counts
            errors.append(f"task {i}: {type(exc).__name__}: {exc}")
            continue
        if value["stdout"] != f"{i}\n".encode():
            errors.append(f"task {i} returned {value['stdout']!r}")
        done = result.date_done
        if isinstance(done, str):
            done = datetime.fromisoformat(done)
        if done.tzinfo is None:
            done = done.replace(tzinfo=UTC)
        latencies.append(done.timestamp() - at)


def leftovers(
    results_url: str, owners: set[str], disks_before: set[Path]
) -> tuple[list[int], list[Any], set[Path]]:
    """Each task's deliveries, and the containers and disks the worker left behind."""
    import docker
    import redis

    from graderq import keys
    from graderq.settings import get_settings

    results = redis.Redis.from_url(results_url)
    counts = [int(results.get(key) or 0) for key in results.keys(keys.DELIVERIES + "*")]
    api = docker.APIClient()
    left = [
        c
        for c in api.containers(all=True, filters={"label": "graderq=sandbox"})
        if c["Labels"].get("graderq.owner") in owners
    ]
    return counts, left, set(get_settings().disk_dir.glob("*/*.img")) - disks_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--broker", default=BROKER, help="Celery broker URL")
    parser.add_argument("--results", default=RESULTS, help="Redis result backend URL")
    options = parser.parse_args()
    use_databases(options.broker, options.results)

    from graderq.settings import get_settings

    disks_before = set(get_settings().disk_dir.glob("*/*.img"))
    latencies: list[float] = []
    errors: list[str] = []
    with worker("load", Path("/tmp/graderq-load-worker.log")) as load_worker:
        share = options.tasks // options.producers
        threads = [
            threading.Thread(target=produce, args=(p * share, share, latencies, errors))
            for p in range(options.producers)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        pids = group_pids(load_worker.process.pid)
        owners = {f"{os.uname().nodename}:{pid}" for pid in pids}
    total = share * options.producers
    counts, left, disks_left = leftovers(options.results, owners, disks_before)
    print(
        f"{total} tasks from {options.producers} producer threads through 2 worker "
        f"processes in {elapsed:.1f} s"
    )
    rows = [["throughput, tasks/s", f"{total / elapsed:.1f}"]]
    for q in (0.50, 0.99) if latencies else ():
        rows.append([f"latency p{q * 100:.0f}, ms", f"{quantile(latencies, q) * 1000:.0f}"])
    rows.append(["lost or wrong", str(len(errors))])
    rows.append([f"ran twice (of {len(counts)} counted)", str(sum(c > 1 for c in counts))])
    rows.append(["containers left", str(len(left))])
    rows.append(["disks left", str(len(disks_left))])
    table(["(latency: submit to result stored)", ""], rows, indent="  ")
    for error in errors[:10]:
        print("   ", error)
    ok = (
        not errors
        and len(counts) == total
        and max(counts, default=0) == 1
        and not left
        and not disks_left
    )
    print("PASS" if ok else "FAIL")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
