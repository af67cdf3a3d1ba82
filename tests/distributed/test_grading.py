"""Grading through the queue: verdicts for real submissions on a real worker."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from graderq import client

from .conftest import Worker

SOLUTION = r"""
#include <stdio.h>
#include <stdlib.h>
int main(void) {
    long a, b;
    if (scanf("%ld %ld", &a, &b) != 2) return 2;       /* 14: memory limit */
    if (a == 13) for (;;) {}                       /* time limit */
    if (a == 14) { volatile char *p = malloc(200L << 20);
                   for (long i = 0; i < (200L << 20); i += 4096) p[i] = 1; }
    if (a == 15) for (;;) printf("spam\n");        /* output limit */
    if (a == 16) return 3;                         /* runtime error */
    printf("%ld   \n", a == 17 ? a * b : a + b);   /* 17: wrong answer */
    return 0;
}
"""
RUN = {
    "profile_name": "gcc_run",
    "command": "./main",
    "limits": {"cputime": 1, "realtime": 4, "memory": 64, "output": 4096},
}
COMPILE = {
    "profile_name": "gcc_compile",
    "command": "gcc -O2 -o main main.c",
    "limits": {"cputime": 5, "realtime": 10, "memory": 256},
}


@pytest.fixture(scope="module")
def worker(start_worker: Callable[..., Worker]) -> Worker:
    return start_worker("grader", concurrency=2)


def test_every_verdict_on_a_real_submission(worker: Worker) -> None:
    tests = [
        {"stdin": "2 3", "expected": "5", "name": "sum"},
        {"stdin": "13 0", "expected": "13"},
        {"stdin": "14 0", "expected": "14"},
        {"stdin": "15 0", "expected": "15"},
        {"stdin": "16 0", "expected": "16"},
        {"stdin": "17 2", "expected": "19"},
    ]
    summary = client.grade(
        RUN, tests, COMPILE, files=[{"name": "main.c", "content": SOLUTION}]
    ).get(timeout=120)
    verdicts = [test["verdict"] for test in summary["tests"]]
    assert verdicts == [
        "accepted",
        "time limit",
        "memory limit",
        "output limit",
        "runtime error",
        "wrong answer",
    ]
    assert summary["verdict"] == "time limit"
    assert (summary["passed"], summary["total"]) == (1, 6)
    accepted = summary["tests"][0]
    assert accepted["name"] == "sum" and accepted["stdout"] == b"5   \n"
    assert accepted["cpu_time"] is not None and accepted["memory_peak"] > 0
    assert summary["tests"][1]["cpu_time"] >= 0.5


def test_exact_comparison_is_an_option(worker: Worker) -> None:
    files = [{"name": "main.c", "content": SOLUTION}]
    tests = [{"stdin": "2 3", "expected": "5\n"}]
    assert client.grade(RUN, tests, COMPILE, files=files).get(timeout=120)["verdict"] == (
        "accepted"
    )
    strict = client.grade(RUN, tests, COMPILE, files=files, exact=True).get(timeout=120)
    assert strict["verdict"] == "wrong answer"


def test_compile_error_and_interpreted_submissions(worker: Worker) -> None:
    broken = client.grade(
        RUN,
        [{"stdin": "1 1", "expected": "2"}],
        COMPILE,
        files=[{"name": "main.c", "content": "int main( {"}],
    ).get(timeout=120)
    assert broken["verdict"] == "compile error" and b"error" in broken["compile"]["stderr"]

    python = client.grade(
        {"profile_name": "python", "command": "python3 main.py"},
        [{"stdin": "4", "expected": "16"}, {"stdin": "5", "expected": "26"}],
        files=[{"name": "main.py", "content": "n = int(input())\nprint(n * n)\n"}],
    ).get(timeout=120)
    assert [t["verdict"] for t in python["tests"]] == ["accepted", "wrong answer"]


def test_malformed_tests_are_refused_before_sending() -> None:
    with pytest.raises(ValueError, match=r"tests\[0\].*'expected'"):
        client.grade(RUN, [{"stdin": "1"}])
    with pytest.raises(ValueError, match="must not have 'stdin'"):
        client.grade(RUN | {"stdin": "x"}, [{"expected": "1"}])
