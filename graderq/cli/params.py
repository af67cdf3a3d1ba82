"""Command-line input: limits, files for /sandbox, stdin, and folders of test cases."""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from graderq.errors import LimitError
from graderq.limits import LIMIT_NAMES, check_names
from graderq.request import check_keys

NONE_WORDS = frozenset({"none", "null"})
EXPECTED_SUFFIXES = (".out", ".ans")
TESTS_TOML = "tests.toml"

LIMIT_HELP = f"({', '.join(LIMIT_NAMES)}); VALUE is a number or 'none'. Repeatable."
"""The end of each --limit option's help: the limits there are, and their values."""


def parse_limit_value(text: str) -> int | float | None:
    """A limit's value: an int, a float, or None for "none"/"null" (unlimited)."""
    word = text.strip()
    if word.lower() in NONE_WORDS:
        return None
    try:
        return int(word)
    except ValueError:
        pass
    try:
        number = float(word)
    except ValueError:
        raise ValueError(f"{text!r} is not a number (or 'none')") from None
    if not math.isfinite(number):
        raise ValueError(f"{text!r} is not a finite number")
    return number


def parse_limits(items: Sequence[str]) -> dict[str, Any]:
    """NAME=VALUE items as a limits dict; names are checked, each may appear once."""
    limits: dict[str, Any] = {}
    for item in items:
        name, equals, value = item.partition("=")
        name = name.strip()
        if not equals or not name:
            raise ValueError(f"{item!r} is not NAME=VALUE")
        if name in limits:
            raise ValueError(f"limit {name!r} is given twice")
        try:
            limits[name] = parse_limit_value(value)
        except ValueError as exc:
            raise ValueError(f"limit {name!r}: {exc}") from None
    try:
        check_names(limits)
    except LimitError as exc:
        raise ValueError(str(exc)) from None
    return limits


def limits_option(
    ctx: click.Context, param: click.Parameter, items: Sequence[str]
) -> dict[str, Any] | None:
    """click callback of a repeatable --limit NAME=VALUE option; None when not given."""
    if not items:
        return None
    try:
        return parse_limits(items)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def read_sandbox_file(spec: str) -> dict[str, Any]:
    """PATH, or NAME=PATH, as a file dict for /sandbox.

    A value that names an existing file is that file, put under its basename;
    otherwise it is NAME=PATH, split at the first '='.
    """
    path, name = Path(spec), None
    if not path.exists() and "=" in spec:
        name, _, rest = spec.partition("=")
        path = Path(rest)
    if not path.exists():
        raise ValueError(f"{str(path)!r} does not exist")
    if not path.is_file():
        raise ValueError(f"{str(path)!r} is not a regular file")
    return {"name": name or path.name, "content": path.read_bytes()}


def files_option(
    ctx: click.Context, param: click.Parameter, specs: Sequence[str]
) -> list[dict[str, Any]] | None:
    """click callback of a repeatable --file [NAME=]PATH option; None when not given."""
    if not specs:
        return None
    try:
        return [read_sandbox_file(spec) for spec in specs]
    except (ValueError, OSError) as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


@dataclass(frozen=True)
class TestCase:
    """One test from a tests folder: NAME.in and its expected NAME.out (or NAME.ans), and
    what tests.toml says of it."""

    __test__ = False  # not a pytest test class

    name: str
    stdin: bytes
    expected: bytes | None
    """None: no NAME.out or NAME.ans (an interactive problem's interactor judges)."""
    points: float | None = None
    group: str | None = None
    limits: dict[str, Any] | None = None

    def as_test(self) -> dict[str, Any]:
        """The test as client.grade takes it."""
        test = {"name": self.name, "stdin": self.stdin}
        extra = {
            "expected": self.expected,
            "points": self.points,
            "group": self.group,
            "limits": self.limits,
        }
        return test | {key: value for key, value in extra.items() if value is not None}


def natural_key(name: str) -> list[tuple[int, int | str]]:
    """Sort key putting "2" before "10" ("test2" before "test10")."""
    return [
        (0, int(part)) if part.isdigit() else (1, part.lower())
        for part in re.split(r"(\d+)", name)
        if part
    ]


def load_tests(folder: Path, need_expected: bool = True) -> list[TestCase]:
    """The NAME.in / NAME.out (or .ans) pairs of `folder`, sorted naturally by NAME;
    without `need_expected`, a NAME.in alone is a test too (of an interactive problem)."""
    if not folder.is_dir():
        raise ValueError(f"tests folder {str(folder)!r} is not a directory")
    inputs = {path.stem: path for path in folder.glob("*.in") if path.is_file()}
    answers: dict[str, list[Path]] = {}
    for suffix in EXPECTED_SUFFIXES:
        for path in folder.glob(f"*{suffix}"):
            if path.is_file():
                answers.setdefault(path.stem, []).append(path)
    if not inputs:
        raise ValueError(f"tests folder {str(folder)!r} has no tests (NAME.in files)")
    orphans = sorted(set(answers) - set(inputs), key=natural_key)
    if orphans:
        names = ", ".join(path.name for orphan in orphans for path in answers[orphan])
        raise ValueError(f"tests folder {str(folder)!r}: {names} has no matching .in file")
    cases = []
    for name in sorted(inputs, key=natural_key):
        expected = answers.get(name, [])
        if len(expected) > 1:
            raise ValueError(f"test {name!r} has both {name}.out and {name}.ans; keep one")
        answer = expected[0].read_bytes() if expected else None
        cases.append(TestCase(name, inputs[name].read_bytes(), answer))
    if need_expected:
        require_expected(cases)
    return _with_settings(cases, folder)


def require_expected(cases: Sequence[TestCase]) -> None:
    """Refuse tests without an expected output (all but an interactive problem's)."""
    for case in cases:
        if case.expected is None:
            name = case.name
            raise ValueError(f"test {name!r} has no expected output ({name}.out or {name}.ans)")


def read_tests_toml(folder: Path) -> dict[str, Any]:
    """tests.toml of a tests folder ({} when there is none): [tests.NAME] tables with
    points, group and limits; [groups.NAME] tables with points (all-or-nothing)."""
    path = folder / TESTS_TOML
    if not path.is_file():
        return {}
    try:
        table = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{str(path)!r}: {exc}") from None
    unknown = set(table) - {"tests", "groups"}
    if unknown:
        raise ValueError(f"{str(path)!r}: unknown tables {sorted(unknown)}; known: tests, groups")
    return table


def _with_settings(cases: list[TestCase], folder: Path) -> list[TestCase]:
    tests = read_tests_toml(folder).get("tests", {})
    names = {case.name for case in cases}
    strangers = sorted(set(tests) - names, key=natural_key)
    if strangers:
        raise ValueError(f"{TESTS_TOML} names tests that are not in the folder: {strangers}")
    out = []
    for case in cases:
        own = tests.get(case.name, {})
        check_keys(own, ("points", "group", "limits"), f"{TESTS_TOML}: [tests.{case.name}]")
        out.append(TestCase(case.name, case.stdin, case.expected, **own))
    return out


def load_groups(folder: Path) -> dict[str, Any] | None:
    """The [groups] of a tests folder's tests.toml, or None."""
    return read_tests_toml(folder).get("groups") or None
