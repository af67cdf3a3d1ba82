"""Points: per test, per group, all-or-nothing subtasks, and a submission's score.

A test may carry `points` (scored when it is accepted, or the checker's share of them
for a partial verdict) and a `group`. `groups={"NAME": {"points": P}}` makes a group
all-or-nothing: it scores P only when every test in it is accepted (IOI subtasks), and
its tests carry no points of their own. When no test and no group names points, every
test is worth 1. Checking is done at submit time; scoring on the worker that judges.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from graderq.errors import ScoringError
from graderq.judging.verdicts import Verdict


def _points(value: Any, what: str) -> float:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value < 0:
        raise ScoringError(f"{what} must be a finite number >= 0, not {value!r}")
    return float(value)


def check_test(test: Mapping[str, Any], index: int) -> dict[str, Any]:
    """A test's checked `points` and `group` (either may be None)."""
    points, group = test.get("points"), test.get("group")
    if points is not None:
        points = _points(points, f"tests[{index}]['points']")
    if group is not None and (not isinstance(group, str) or not group):
        raise ScoringError(f"tests[{index}]['group'] must be a non-empty str, not {group!r}")
    return {"points": points, "group": group}


def check_groups(
    groups: Mapping[str, Any] | None, tests: Sequence[Mapping[str, Any]]
) -> dict[str, dict[str, float]]:
    """Checked `groups`: each names tests, has {'points': P}, and its tests no points."""
    if groups is None:
        return {}
    if not isinstance(groups, Mapping):
        raise ScoringError("groups must be a dict of NAME: {'points': P}")
    named = {test["group"] for test in tests if test["group"] is not None}
    checked = {}
    for name, group in groups.items():
        if not isinstance(group, Mapping) or set(group) != {"points"}:
            raise ScoringError(f"groups[{name!r}] must be {{'points': P}}, not {group!r}")
        if name not in named:
            raise ScoringError(f"groups[{name!r}] names no test (no test has group={name!r})")
        checked[name] = {"points": _points(group["points"], f"groups[{name!r}]['points']")}
    for index, test in enumerate(tests):
        if test["group"] in checked and test["points"] is not None:
            raise ScoringError(
                f"tests[{index}] has points but its group {test['group']!r} is all-or-nothing "
                "(it has points of its own); give points to the group or to its tests"
            )
    return checked


def test_points(tests: Sequence[Mapping[str, Any]], groups: Mapping[str, Any]) -> list[float]:
    """Each test's own points: 1 each when nothing names points; 0 in all-or-nothing groups."""
    if not groups and all(test.get("points") is None for test in tests):
        return [1.0] * len(tests)
    return [
        0.0 if test.get("group") in groups else float(test.get("points") or 0.0) for test in tests
    ]


def row_score(verdict: str, points: float, share: float | None) -> float:
    """What one test scores of its own points."""
    if verdict == Verdict.ACCEPTED:
        return points
    if verdict == Verdict.PARTIAL and share is not None:
        return points * share
    return 0.0


def score(
    rows: Sequence[Mapping[str, Any]], groups: Mapping[str, Mapping[str, float]]
) -> dict[str, Any]:
    """{'score', 'max_score', 'groups'} of judged rows (each with 'verdict', 'group',
    'points' and 'score'): groups as {NAME: {score, max_score, passed, total}}."""
    tally: dict[str, dict[str, Any]] = {}
    for row in rows:
        name = row.get("group")
        if name is None:
            continue
        group = tally.setdefault(name, {"score": 0.0, "max_score": 0.0, "passed": 0, "total": 0})
        group["total"] += 1
        group["passed"] += row["verdict"] == Verdict.ACCEPTED
        group["score"] += row["score"]
        group["max_score"] += row["points"]
    for name, rule in groups.items():
        group = tally[name]
        group["max_score"] = rule["points"]
        group["score"] = rule["points"] if group["passed"] == group["total"] else 0.0
    ungrouped = [row for row in rows if row.get("group") is None]
    return {
        "score": sum(row["score"] for row in ungrouped) + sum(g["score"] for g in tally.values()),
        "max_score": sum(row["points"] for row in ungrouped)
        + sum(g["max_score"] for g in tally.values()),
        "groups": tally,
    }
