import pytest

from graderq.judging.report import Verdict, judge_run, report, same_output


def result(**kwargs: object) -> dict:
    base = dict(
        exit_code=0,
        stdout=b"5\n",
        stderr=b"",
        duration=0.1,
        timeout=False,
        oom_killed=False,
        output_truncated=False,
        cpu_time=0.01,
        memory_peak=1000,
    )
    return base | kwargs


def test_outputs_match_but_for_trailing_whitespace_unless_exact() -> None:
    assert same_output(b"1 2  \n3\n\n\n", b"1 2\n3")
    assert not same_output(b"1 2  \n3\n", b"1 2\n3", exact=True)
    assert not same_output(b"1  2\n", b"1 2\n")  # inner whitespace counts
    assert not same_output(b" 1\n", b"1\n")  # and so does leading


@pytest.mark.parametrize(
    ("kwargs", "verdict"),
    [
        ({}, Verdict.ACCEPTED),
        ({"stdout": b"6\n"}, Verdict.WRONG_ANSWER),
        ({"timeout": True, "exit_code": None}, Verdict.TIME_LIMIT),
        ({"oom_killed": True, "exit_code": 137}, Verdict.MEMORY_LIMIT),
        ({"output_truncated": True, "exit_code": None}, Verdict.OUTPUT_LIMIT),
        ({"exit_code": 1}, Verdict.RUNTIME_ERROR),
        ({"exit_code": 1, "stdout": b"6\n"}, Verdict.RUNTIME_ERROR),
    ],
)
def test_verdict_of_one_run(kwargs: dict, verdict: Verdict) -> None:
    assert judge_run(result(**kwargs), b"5") is verdict


def test_report_summarises_in_test_order() -> None:
    outcome = {
        "compiled": True,
        "compile": result(stdout=b""),
        "runs": [result(), result(stdout=b"7", cpu_time=0.5), result(timeout=True)],
    }
    tests = [{"expected": "5"}, {"expected": "8", "name": "big"}, {"expected": "5"}]
    summary = report(outcome, tests)
    assert summary["verdict"] == "wrong answer"
    assert (summary["passed"], summary["total"]) == (1, 3)
    assert [t["name"] for t in summary["tests"]] == ["test 1", "big", "test 3"]
    assert [t["verdict"] for t in summary["tests"]] == ["accepted", "wrong answer", "time limit"]
    assert summary["cpu_time"] == 0.5


def test_report_of_a_failed_compile() -> None:
    outcome = {"compiled": False, "compile": result(exit_code=1), "runs": [], "skipped": 2}
    summary = report(outcome, [{"expected": "1"}, {"expected": "2"}])
    assert summary["verdict"] == "compile error"
    assert (summary["passed"], summary["total"], summary["tests"]) == (0, 2, [])
