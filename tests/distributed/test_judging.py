"""Grading like a judge, through the queue on real workers: comparators, testlib-style
checkers in C++, points and groups, stop_on_failure, interactive problems, and reports
bounded in Redis."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from graderq import client
from graderq.errors import CheckerSpecError, ScoringError
from graderq.settings import get_settings

from .conftest import Worker

JUDGES = Path(__file__).parent / "judges"
TESTLIB = {"name": "testlib.h", "content": (JUDGES / "testlib_standin.h").read_bytes()}
GCC_COMPILE = {"cputime": 10, "realtime": 12, "memory": 512}
ECHO = {"profile_name": "python", "command": "python3 main.py"}
ECHO_FILES = [{"name": "main.py", "content": "import sys\nsys.stdout.write(sys.stdin.read())\n"}]


def cpp_program(source: str, name: str) -> dict:
    """A C++ program compiled once per grading in the gcc profile, testlib-style."""
    return {
        "compile": {
            "profile_name": "gcc_compile",
            "command": f"g++ -O2 -o {name} {name}.cpp",
            "limits": GCC_COMPILE,
        },
        "profile_name": "gcc_run",
        "command": f"./{name}",
        "files": [{"name": f"{name}.cpp", "content": source}, TESTLIB],
    }


@pytest.fixture(scope="module")
def worker(start_worker: Callable[..., Worker]) -> Worker:
    return start_worker("judge", concurrency=2)


def echo_verdicts(tests: list[tuple[str, str]], checker: object) -> list[str]:
    """Verdicts of a submission that prints its input, against each expected answer."""
    cases = [{"stdin": given, "expected": expected} for given, expected in tests]
    summary = client.grade(ECHO, cases, files=ECHO_FILES, checker=checker).get(timeout=120)
    return [test["verdict"] for test in summary["tests"]]


@pytest.mark.parametrize(
    ("checker", "tolerated", "refused"),
    [
        ("exact", ("1 2\n", "1 2\n"), ("1 2 \n", "1 2\n")),
        ("lines", ("1 2  \n\n\n", "1 2"), ("1  2\n", "1 2\n")),
        ("tokens", ("1\n   2\n", "1 2"), ("1 2 3", "1 2")),
        ("tokens-nocase", ("YES no", "yes NO"), ("yes", "yess")),
        (
            {"float": {"abs": 1e-6, "rel": 1e-6}},
            ("0.3333333 2e9", "0.33333333 2000000001"),
            ("0.3334", "0.3333"),
        ),
    ],
)
def test_each_comparator_tolerates_what_it_should_and_no_more(
    worker: Worker, checker: object, tolerated: tuple[str, str], refused: tuple[str, str]
) -> None:
    assert echo_verdicts([tolerated, refused], checker) == ["accepted", "wrong answer"]


def test_a_wrong_answer_names_the_first_differing_line(worker: Worker) -> None:
    summary = client.grade(
        ECHO, [{"stdin": "a\nb\nc\n", "expected": "a\nB\nc\n"}], files=ECHO_FILES
    ).get(timeout=120)
    assert summary["tests"][0]["difference"] == {"line": 2, "output": "b", "expected": "B"}


SUM_SOLUTION = """n = int(input())
answers = {10: "3 7", 5: "1 4", 7: "0 7", 9: "5 5", 4: "four"}
print(answers.get(n, f"1 {n - 1}"))
"""


def test_a_testlib_checker_in_cpp_accepts_many_right_answers(worker: Worker) -> None:
    tests = [
        {"stdin": "10", "expected": "5 5", "name": "other answer", "points": 2},
        {"stdin": "5", "expected": "2 3", "name": "another", "points": 2},
        {"stdin": "7", "expected": "3 4", "name": "not positive", "points": 2},
        {"stdin": "9", "expected": "4 5", "name": "off by one", "points": 2},
        {"stdin": "4", "expected": "2 2", "name": "malformed", "points": 2},
    ]
    summary = client.grade(
        {"profile_name": "python", "command": "python3 main.py"},
        tests,
        files=[{"name": "main.py", "content": SUM_SOLUTION}],
        checker=cpp_program((JUDGES / "sum_checker.cpp").read_text(), "checker"),
    ).get(timeout=300)
    rows = summary["tests"]
    assert [row["verdict"] for row in rows] == [
        "accepted",
        "accepted",
        "wrong answer",
        "partial",
        "presentation error",
    ]
    assert rows[0]["checker_message"] == "ok 3 + 7 = 10"
    assert rows[2]["checker_message"].startswith("wrong answer numbers must be positive")
    assert rows[3]["checker_message"].startswith("points 0.5 off by one")
    assert [row["score"] for row in rows] == [2, 2, 0, 1, 0]
    assert (summary["score"], summary["max_score"]) == (5, 10)


CRASHING_CHECKER = """#include <cstdlib>
int main() { std::abort(); }
"""


def test_a_checker_that_crashes_is_the_teachers_fault(worker: Worker) -> None:
    summary = client.grade(
        ECHO,
        [{"stdin": "1", "expected": "1"}, {"stdin": "2", "expected": "2"}],
        files=ECHO_FILES,
        checker=cpp_program(CRASHING_CHECKER, "crash"),
    ).get(timeout=300)
    assert summary["verdict"] == "checker error"
    assert [row["verdict"] for row in summary["tests"]] == ["checker error"] * 2
    assert "the checker exited with 134" in summary["tests"][0]["checker_message"]


def test_a_checker_that_does_not_compile_fails_every_test(worker: Worker) -> None:
    summary = client.grade(
        ECHO,
        [{"stdin": "1", "expected": "1"}],
        files=ECHO_FILES,
        checker=cpp_program("int main( {", "broken"),
    ).get(timeout=300)
    assert summary["verdict"] == "checker error"
    assert "the checker's compile step failed" in summary["tests"][0]["checker_message"]


def test_points_groups_and_per_test_limits(worker: Worker) -> None:
    slow = "import sys, time\nn = int(sys.stdin.read())\ntime.sleep(n / 10)\nprint(n)\n"
    tests = [
        {"stdin": "1", "expected": "1", "points": 10},
        {"stdin": "2", "expected": "3", "points": 5},  # wrong: no points
        {"stdin": "3", "expected": "3", "group": "small"},
        {"stdin": "4", "expected": "4", "group": "small"},
        {"stdin": "5", "expected": "5", "group": "big"},
        {"stdin": "6", "expected": "7", "group": "big"},  # wrong: the whole group fails
        {"stdin": "25", "expected": "25", "points": 1, "limits": {"realtime": 6}},
    ]
    summary = client.grade(
        {"profile_name": "python", "command": "python3 main.py", "limits": {"realtime": 2}},
        tests,
        files=[{"name": "main.py", "content": slow}],
        groups={"small": {"points": 30}, "big": {"points": 40}},
    ).get(timeout=300)
    assert summary["tests"][-1]["verdict"] == "accepted"  # 2.5 s, under its own 6 s
    assert summary["groups"] == {
        "small": {"score": 30, "max_score": 30, "passed": 2, "total": 2},
        "big": {"score": 0, "max_score": 40, "passed": 1, "total": 2},
    }
    assert (summary["score"], summary["max_score"]) == (41, 86)


def test_stop_on_failure_skips_the_rest(worker: Worker) -> None:
    tests = [{"stdin": str(i), "expected": str(i if i != 2 else 99)} for i in range(8)]
    summary = client.grade(ECHO, tests, files=ECHO_FILES, stop_on_failure=True).get(timeout=120)
    verdicts = [row["verdict"] for row in summary["tests"]]
    assert verdicts == ["accepted", "accepted", "wrong answer"] + ["skipped"] * 5
    assert summary["verdict"] == "wrong answer"


BINARY_SEARCH = (JUDGES / "guess_binary_search.py").read_text()
LINEAR_SEARCH = """import sys
n = int(input())
for x in range(1, n + 1):
    print("?", x, flush=True)
    reply = sys.stdin.readline().strip()
    if not reply:
        break
    if reply == "=":
        print("!", x, flush=True)
        break
"""
SILENT = "import time\ntime.sleep(60)\n"


@pytest.mark.parametrize(
    ("solution", "verdict"),
    [(BINARY_SEARCH, "accepted"), (LINEAR_SEARCH, "wrong answer"), (SILENT, "time limit")],
)
def test_interactive_guess_the_number(worker: Worker, solution: str, verdict: str) -> None:
    summary = client.grade(
        {"profile_name": "python", "command": "python3 main.py", "limits": {"realtime": 3}},
        [{"stdin": "1000000 637001 30", "name": "secret"}],
        files=[{"name": "main.py", "content": solution}],
        interactor=cpp_program((JUDGES / "guess_interactor.cpp").read_text(), "interactor"),
    ).get(timeout=300)
    row = summary["tests"][0]
    assert row["verdict"] == verdict, row
    if verdict == "accepted":
        assert row["checker_message"].startswith("ok found 637001 in")
    if verdict == "wrong answer":
        assert row["checker_message"] == "wrong answer more than 30 queries"


def test_bad_judging_requests_are_refused_at_submit() -> None:
    one = [{"stdin": "1", "expected": "1"}]
    with pytest.raises(CheckerSpecError, match="unknown checker 'fuzzy'"):
        client.grade(ECHO, one, checker="fuzzy")
    with pytest.raises(CheckerSpecError, match="'abs' must be a finite number >= 0"):
        client.grade(ECHO, one, checker={"float": {"abs": -1}})
    with pytest.raises(ScoringError, match="names no test"):
        client.grade(ECHO, one, groups={"ghost": {"points": 5}})
    with pytest.raises(ScoringError, match=r"tests\[0\]\['points'\] must be"):
        client.grade(ECHO, [{"expected": "1", "points": -2}])
    with pytest.raises(CheckerSpecError, match="disagree"):
        client.grade(ECHO, one, exact=True, checker="tokens")


def test_a_report_of_100_capped_outputs_stays_small_in_redis(
    worker: Worker, redis_client: redis.Redis
) -> None:
    tests = [{"stdin": "", "expected": "y"} for _ in range(100)]
    handle = client.grade({"profile_name": "python", "command": "yes"}, tests)
    summary = handle.get(timeout=600)
    assert [row["verdict"] for row in summary["tests"]] == ["output limit"] * 100
    row = summary["tests"][0]
    assert len(row["stdout"]) == 4096 and row["stdout_truncated"] is True
    assert row["stderr_truncated"] is False and len(row["stdout_sha256"]) == 64
    backend = redis.Redis.from_url(get_settings().result_backend)
    stored = backend.strlen(f"celery-task-meta-{handle.id}")
    print(f"\n100-test report of capped outputs: {stored / 1e6:.2f} MB in Redis")
    assert stored < 2_000_000
