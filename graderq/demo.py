"""A real grading run end to end: `python -m graderq.demo`.

Starts a local worker if none answers, sends a C submission through the queue
(compile once, run every test in parallel on the pinned host), prints the verdicts,
and stops the worker it started.
"""

from __future__ import annotations

import time
from pathlib import Path

from graderq.client import grade
from graderq.queue.app import app
from graderq.queue.launcher import WorkerProcess, start_worker

SUBMISSION = r"""
#include <stdio.h>
int main(void) {
    long a, b;
    if (scanf("%ld %ld", &a, &b) != 2) return 1;
    printf("%ld\n", a + b);
    return 0;
}
"""
TESTS = [("2 3", "5"), ("-7 7", "0"), ("1000000000 1000000000", "2000000000"), ("40 2", "42")]
LOG = Path("/tmp/graderq-demo-worker.log")


def local_worker() -> WorkerProcess | None:
    """A worker for the demo, unless one already answers."""
    if app.control.ping(timeout=1.0):
        return None
    print(f"starting a local worker (log: {LOG})")
    try:
        return start_worker("demo", LOG)
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None


def main() -> int:
    worker = local_worker()
    try:
        started = time.monotonic()
        report = grade(
            run={"profile_name": "gcc_run", "command": "./main", "limits": {"cputime": 1}},
            tests=[{"stdin": given, "expected": expected} for given, expected in TESTS],
            compile={
                "profile_name": "gcc_compile",
                "command": "gcc -O2 -o main main.c",
                "limits": {"cputime": 5, "realtime": 10, "memory": 256},
            },
            files=[{"name": "main.c", "content": SUBMISSION}],
        ).get(timeout=120)
        elapsed = time.monotonic() - started
    finally:
        if worker is not None:
            worker.stop()
    if report["verdict"] == "compile error":
        print("compile error:\n" + report["compile"]["stderr"].decode(errors="replace"))
        return 1
    for (given, expected), test in zip(TESTS, report["tests"], strict=True):
        got = test["stdout"].decode(errors="replace").rstrip()
        print(
            f"  test {given!r:26} expected {expected!r:14} got {got!r:14} "
            f"{test['verdict']:9} {test['duration']:.3f} s"
        )
    passed, total = report["passed"], report["total"]
    print(f"{passed}/{total} tests passed; graded through the queue in {elapsed:.2f} s")
    return 0 if passed == total else 1


if __name__ == "__main__":
    raise SystemExit(main())
