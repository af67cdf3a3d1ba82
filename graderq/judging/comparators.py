"""The built-in comparators of a submission's output with the expected answer.

Pure functions over bytes. Each comparator is named (its name is what `checker=` takes),
and `first_difference` finds the line a person should look at when they differ.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

DIFFERENCE_CHARS = 200
"""Characters kept of each side of a first difference (a screen's width, and some)."""


@dataclass(frozen=True)
class Tolerance:
    """How far apart two numbers may be and still be equal: either bound suffices."""

    abs: float = 1e-6
    rel: float = 1e-6

    def close(self, got: float, expected: float) -> bool:
        if math.isnan(expected) or math.isnan(got):
            return math.isnan(expected) and math.isnan(got)
        if math.isinf(expected) or math.isinf(got):
            return got == expected
        gap = abs(got - expected)
        return gap <= self.abs or gap <= self.rel * abs(expected)


def exact(got: bytes, expected: bytes) -> bool:
    """Byte for byte."""
    return got == expected


def _lines(data: bytes) -> list[bytes]:
    return [line.rstrip() for line in data.rstrip().split(b"\n")]


def lines(got: bytes, expected: bytes) -> bool:
    """Line by line, ignoring trailing whitespace of each line and of the end."""
    return _lines(got) == _lines(expected)


def tokens(got: bytes, expected: bytes) -> bool:
    """The whitespace-separated tokens are equal."""
    return got.split() == expected.split()


def tokens_nocase(got: bytes, expected: bytes) -> bool:
    """The whitespace-separated tokens are equal, ignoring (ASCII) case."""
    return got.lower().split() == expected.lower().split()


def _number(token: bytes) -> float | None:
    try:
        return float(token)
    except ValueError:
        return None


def floats(got: bytes, expected: bytes, tolerance: Tolerance) -> bool:
    """Tokens: where the expected token is a number, the output's must be a number within
    `tolerance` of it; other tokens must be equal."""
    mine, theirs = got.split(), expected.split()
    if len(mine) != len(theirs):
        return False
    for token, wanted in zip(mine, theirs, strict=True):
        number = _number(wanted)
        if number is None:
            if token != wanted:
                return False
            continue
        value = _number(token)
        if value is None or not tolerance.close(value, number):
            return False
    return True


Comparator = Callable[[bytes, bytes], bool]
COMPARATORS: dict[str, Comparator] = {
    "exact": exact,
    "lines": lines,
    "tokens": tokens,
    "tokens-nocase": tokens_nocase,
}
"""The built-in comparators but "float", which takes a tolerance."""
BUILT_IN = (*COMPARATORS, "float")


def compare(name: str, got: bytes, expected: bytes, tolerance: Tolerance | None = None) -> bool:
    """Whether `got` matches `expected` under the built-in comparator `name`."""
    if name == "float":
        return floats(got, expected, tolerance or Tolerance())
    return COMPARATORS[name](got, expected)


def first_difference(got: bytes, expected: bytes) -> dict[str, object] | None:
    """The first line (1-based) where output and answer differ, trailing whitespace
    aside: {'line', 'output', 'expected'}, each side cut to DIFFERENCE_CHARS; None if
    no line differs (e.g. a difference in whitespace between tokens only)."""
    mine, theirs = _lines(got), _lines(expected)
    for number in range(max(len(mine), len(theirs))):
        left = mine[number] if number < len(mine) else None
        right = theirs[number] if number < len(theirs) else None
        if left != right:
            return {"line": number + 1, "output": _shown(left), "expected": _shown(right)}
    return None


def _shown(line: bytes | None) -> str | None:
    if line is None:
        return None
    return line[: DIFFERENCE_CHARS * 4].decode("utf-8", errors="replace")[:DIFFERENCE_CHARS]
