"""`graderq submit` and `graderq grade` through real Redis and a real worker."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.support import run_graderq

from .conftest import Worker

SUM = r"""
#include <stdio.h>
int main(void) {
    long a, b;
    if (scanf("%ld %ld", &a, &b) != 2) return 2;
    printf("%ld\n", a == 4 ? a * b : a + b);   /* wrong for a == 4 */
    return 0;
}
"""
# realtime must stay under the workers' ceiling (task_time_limit - 2 x margin)
COMPILE_LIMITS = ["--compile-limit", "cputime=5", "--compile-limit", "realtime=10"]
COMPILE = [
    "--compile-profile", "gcc_compile", "--compile", "gcc -O2 -o main main.c", *COMPILE_LIMITS
]  # fmt: skip


def graderq(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_graderq(*args, timeout=180, **env)


@pytest.fixture(scope="module")
def worker(start_worker: Callable[..., Worker]) -> Worker:
    return start_worker("cli", concurrency=2)


@pytest.fixture
def submission(tmp_path: Path) -> Path:
    source = tmp_path / "sum.c"
    source.write_text(SUM)
    tests = tmp_path / "tests"
    tests.mkdir()
    for name, given, expected, suffix in [
        ("1", "2 3", "5", ".out"),
        ("2", "10 20", "30", ".ans"),
        ("10", "4 4", "8", ".out"),  # the submission prints 16
        ("3", "-1 1", "0\n", ".out"),
    ]:
        (tests / f"{name}.in").write_text(given)
        (tests / f"{name}{suffix}").write_text(expected)
    return tmp_path


def test_submit_runs_on_a_worker(worker: Worker) -> None:
    done = graderq("submit", "python", "python3 -c 'print(input() * 2)'", "--stdin", "ab", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["stdout"] == "abab\n" and result["exit_code"] == 0
    readable = graderq("submit", "python", "echo from the queue")
    assert readable.returncode == 0 and "from the queue" in readable.stdout
    assert "no worker is alive" not in readable.stderr


def test_submit_exit_codes(worker: Worker) -> None:
    failed = graderq("submit", "python", "exit 4", "--json")
    assert failed.returncode == 1 and json.loads(failed.stdout)["exit_code"] == 4
    unknown = graderq("submit", "no-such-profile", "true")  # refused by the worker
    assert unknown.returncode == 2, unknown.stderr
    assert "Profile not found: 'no-such-profile'" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_submit_with_the_broker_down_exits_3() -> None:
    done = graderq("submit", "python", "true", GRADERQ_BROKER_URL="redis://127.0.0.1:1/0")
    assert done.returncode == 3
    assert "Connection refused" in done.stderr and "graderq doctor" in done.stderr


def test_grade_a_c_submission(worker: Worker, submission: Path) -> None:
    args = [
        "grade", "gcc_run", "--run", "./main", "--tests", str(submission / "tests"),
        "--file", f"main.c={submission / 'sum.c'}", *COMPILE,
    ]  # fmt: skip
    done = graderq(*args)
    assert done.returncode == 1, done.stdout + done.stderr
    rows = [line.split("│")[1:3] for line in done.stdout.splitlines() if "│" in line]
    assert [(name.strip(), verdict.strip()) for name, verdict in rows if name.strip()] == [
        ("1", "accepted"),
        ("2", "accepted"),
        ("3", "accepted"),
        ("10", "wrong answer"),
    ]
    assert "wrong answer: 3/4 tests passed" in done.stdout
    assert "line 1:" in done.stdout  # the wrong answer's first differing line, under its row

    report = json.loads(graderq(*args, "--json").stdout)
    assert (report["verdict"], report["passed"], report["total"]) == ("wrong answer", 3, 4)
    assert [test["name"] for test in report["tests"]] == ["1", "2", "3", "10"]
    assert report["tests"][3]["stdout"] == "16\n"
    assert report["tests"][0]["cpu_time"] is not None and report["compile"]["exit_code"] == 0


def test_grade_accepted_and_compile_error(worker: Worker, submission: Path) -> None:
    (submission / "tests" / "10.out").write_text("16")
    tests = ["--tests", str(submission / "tests")]
    accepted = graderq(
        "grade", "gcc_run", "--run", "./main", *tests, "--file", str(submission / "sum.c"),
        "--compile-profile", "gcc_compile", "--compile", "gcc -o main sum.c", *COMPILE_LIMITS,
    )  # fmt: skip
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "accepted: 4/4 tests passed" in accepted.stdout

    (submission / "broken.c").write_text("int main( {")
    broken = graderq(
        "grade", "gcc_run", "--run", "./main", "--file", f"main.c={submission / 'broken.c'}",
        *tests, *COMPILE, "--json",
    )  # fmt: skip
    assert broken.returncode == 1
    report = json.loads(broken.stdout)
    assert report["verdict"] == "compile error" and "error" in report["compile"]["stderr"]


def test_doctor_sees_the_worker(worker: Worker) -> None:
    done = graderq("doctor")
    assert done.returncode == 0, done.stdout
    assert "OK workers live on" in " ".join(done.stdout.split())


def test_grade_an_interactive_problem_from_a_folder_of_inputs(
    worker: Worker, tmp_path: Path
) -> None:
    """An interactor judges: the tests folder needs NAME.in files only."""
    judges = Path(__file__).parent / "judges"
    (tmp_path / "guess.cpp").write_text((judges / "guess_interactor.cpp").read_text())
    (tmp_path / "testlib.h").write_text((judges / "testlib_standin.h").read_text())
    (tmp_path / "main.py").write_text((judges / "guess_binary_search.py").read_text())
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "1.in").write_text("1000 637 12")
    (tests / "2.in").write_text("1000000 1 30")
    common = ["grade", "python", "--run", "python3 main.py", "--file", str(tmp_path / "main.py")]
    common += ["--tests", str(tests)]
    done = graderq(*common, "--interactor", str(tmp_path / "guess.cpp"), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert [row["verdict"] for row in summary["tests"]] == ["accepted", "accepted"], summary
    assert summary["tests"][0]["checker_message"].startswith("ok found 637")
    without = graderq(*common)
    assert without.returncode == 2 and "'1' has no expected output" in without.stderr
