import pytest

from graderq.errors import CheckerSpecError
from graderq.judging.checkers import built_in_check, parse_checker, points_share, program_check
from graderq.judging.comparators import Tolerance, compare, first_difference


@pytest.mark.parametrize(
    ("name", "same", "different"),
    [
        ("exact", (b"1 2\n", b"1 2\n"), (b"1 2", b"1 2\n")),
        ("lines", (b"1 2 \n\n", b"1 2"), (b"1  2", b"1 2")),
        ("tokens", (b"1\n 2", b"1 2\n"), (b"1 2", b"12")),
        ("tokens-nocase", (b"Yes", b"yES"), (b"yes", b"no")),
        ("float", (b"1.0000001 x", b"1 x"), (b"1.001 x", b"1 x")),
    ],
)
def test_comparators(name: str, same: tuple, different: tuple) -> None:
    assert compare(name, *same) and not compare(name, *different)


def test_float_tolerance_is_absolute_or_relative() -> None:
    assert Tolerance(abs=0, rel=1e-3).close(1000.5, 1000)
    assert not Tolerance(abs=0, rel=1e-3).close(2.5, 2)
    assert Tolerance(abs=0.6, rel=0).close(2.5, 2)
    assert not compare("float", b"nan", b"1")


def test_a_float_tolerance_that_names_one_bound_has_only_that_one() -> None:
    assert parse_checker("float") == {"kind": "float", "abs": 1e-6, "rel": 1e-6}
    absolute = parse_checker({"float": {"abs": 0.01}})
    assert absolute == {"kind": "float", "abs": 0.01, "rel": 0.0}
    assert built_in_check(absolute, b"1000000.5", b"1000000")["verdict"] == "wrong answer"
    relative = parse_checker({"float": {"rel": 1e-9}})
    assert built_in_check(relative, b"1.0000005", b"1")["verdict"] == "wrong answer"
    assert built_in_check(relative, b"1.0000000001", b"1")["verdict"] == "accepted"


def test_first_difference() -> None:
    assert first_difference(b"a\nb\n", b"a\nc") == {"line": 2, "output": "b", "expected": "c"}
    assert first_difference(b"a", b"a\nb") == {"line": 2, "output": None, "expected": "b"}
    assert built_in_check({"kind": "lines"}, b"1", b"2")["difference"]["line"] == 1


@pytest.mark.parametrize(
    ("checker", "match"),
    [
        ("fuzzy", "unknown checker"),
        ({"float": {"abs": -1}}, "'abs' must be a finite number >= 0"),
        ({"float": {"abs": float("inf")}}, "'abs' must be"),
        ({"float": {"eps": 1}}, "tolerance is"),
        ({"profile_name": "gcc_run"}, "needs 'command'"),
        ({"profile_name": "p", "command": "c", "files": [{"name": "answer.txt"}]}, "would hide"),
        ({"profile_name": "p", "command": "c", "colour": 1}, "unknown keys"),
        (42, "checker must be"),
    ],
)
def test_bad_checkers_are_refused(checker: object, match: str) -> None:
    with pytest.raises(CheckerSpecError, match=match):
        parse_checker(checker)


def run(code: int | None, stderr: bytes = b"", **flags: bool) -> dict:
    base = {"exit_code": code, "stdout": b"", "stderr": stderr, "timeout": False}
    return base | {"oom_killed": False, "output_truncated": False} | flags


def test_testlib_exit_codes_and_messages() -> None:
    assert program_check(run(0, b"ok fine\nmore"))["message"] == "ok fine"
    assert program_check(run(1, b"wrong answer 1 != 2"))["verdict"] == "wrong answer"
    assert program_check(run(2))["verdict"] == "presentation error"
    assert program_check(run(3, b"FAIL bad test"))["verdict"] == "checker error"
    partial = program_check(run(7, b"points 0.25 a quarter"))
    assert (partial["verdict"], partial["share"]) == ("partial", 0.25)
    assert program_check(run(7, b"points 3"))["verdict"] == "checker error"  # not a share
    assert "exited with 134" in program_check(run(134))["message"]
    assert "in time" in program_check(run(None, timeout=True))["message"]
    assert points_share("points 1.0") == 1.0 and points_share("ok") is None
