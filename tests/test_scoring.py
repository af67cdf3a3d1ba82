import pytest

from graderq.errors import ScoringError
from graderq.judging.report import judged_row, report
from graderq.judging.scoring import check_groups, check_test


def row(verdict: str, share: float | None = None) -> dict:
    result = {"exit_code": 0, "timeout": False, "oom_killed": False, "stdout": b"x" * 10}
    return judged_row(result | {"stderr": b""}, {"share": share}, verdict, 4)


def test_points_groups_and_partial_shares() -> None:
    tests = [
        {"name": "a", "points": 10, "group": None},
        {"name": "b", "points": 4, "group": None},
        {"name": "c", "points": None, "group": "g"},
        {"name": "d", "points": None, "group": "g"},
        {"name": "e", "points": 2, "group": "h"},
    ]
    runs = [
        row("accepted"),
        row("partial", 0.5),
        row("accepted"),
        row("accepted"),
        row("wrong answer"),
    ]
    summary = report(
        {"compiled": True, "compile": {}, "runs": runs}, tests, groups={"g": {"points": 30}}
    )
    assert (summary["score"], summary["max_score"]) == (42, 46)
    assert summary["groups"]["g"] == {"score": 30, "max_score": 30, "passed": 2, "total": 2}
    assert summary["groups"]["h"] == {"score": 0, "max_score": 2, "passed": 0, "total": 1}
    assert summary["tests"][0]["stdout"] == b"xxxx" and summary["tests"][0]["stdout_truncated"]


def test_every_test_is_worth_one_by_default_and_stop_on_failure_skips() -> None:
    runs = [row("accepted"), row("wrong answer"), row("accepted")]
    tests = [{"name": str(i)} for i in range(3)]
    summary = report({"compiled": True, "compile": {}, "runs": runs}, tests, stop_on_failure=True)
    assert [t["verdict"] for t in summary["tests"]] == ["accepted", "wrong answer", "skipped"]
    assert (summary["score"], summary["max_score"], summary["verdict"]) == (1, 3, "wrong answer")


def test_a_checker_error_is_the_overall_verdict() -> None:
    runs = [row("wrong answer"), row("checker error")]
    summary = report({"compiled": True, "compile": {}, "runs": runs}, [{}, {}])
    assert summary["verdict"] == "checker error"


@pytest.mark.parametrize(
    ("tests", "groups", "match"),
    [
        ([{"points": -1}], None, "must be a finite number >= 0"),
        ([{"points": True}], None, "must be a finite number"),
        ([{"group": ""}], None, "non-empty str"),
        ([{"group": "a"}], {"b": {"points": 1}}, "names no test"),
        ([{"group": "a"}], {"a": {"points": -3}}, "must be a finite number"),
        ([{"group": "a"}], {"a": {"score": 3}}, "must be {'points': P}"),
        ([{"group": "a", "points": 2}], {"a": {"points": 3}}, "all-or-nothing"),
    ],
)
def test_bad_scoring_is_refused(tests: list, groups: dict | None, match: str) -> None:
    with pytest.raises(ScoringError, match=match):
        check_groups(groups, [check_test(test, i) for i, test in enumerate(tests)])
