"""What the graderq command prints: human units, safe text, JSON, result and report views."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import click
from rich.console import Console, Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from graderq.judging.report import run_failed
from graderq.plain_json import jsonable

KIB = 1024
NOTHING = "-"
# Control characters a sandbox could use to drive the terminal; newline and tab stay.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def stdout_console() -> Console:
    """A console on the current sys.stdout (so click's test runner captures it)."""
    return Console(highlight=False, emoji=False, soft_wrap=True)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)


def seconds(value: float | None) -> str:
    """0.12 s; below 0.1 s in milliseconds (4.2 ms); "-" when unknown."""
    if value is None:
        return NOTHING
    if 0 < value < 0.1:
        return f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"


def size(value: int | None) -> str:
    """Bytes in binary units, as memory limits are (64 means 64 MiB): 9.4 MiB."""
    if value is None:
        return NOTHING
    if value < KIB:
        return f"{value} B"
    amount = float(value)
    for unit in ("KiB", "MiB", "GiB"):
        amount /= KIB
        if amount < KIB or unit == "GiB":
            break
    return f"{amount:.1f} {unit}"


def shown_text(data: bytes) -> str:
    """Sandbox output for a terminal: decoded with errors replaced, control characters
    other than newline and tab shown escaped (\\x1b), never sent to the terminal."""
    text = data.decode("utf-8", errors="replace")
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def print_json(value: Any) -> None:
    """One JSON document on stdout, written as is (no markup, emoji or wrapping)."""
    click.echo(json.dumps(jsonable(value), indent=2))


def verdict_style(verdict: str) -> str:
    return "green" if verdict == "accepted" else "red"


def flags(result: Mapping[str, Any]) -> list[str]:
    names = {"timeout": "timeout", "oom_killed": "out of memory", "output_truncated": "truncated"}
    return [shown for key, shown in names.items() if result.get(key)]


def stream(title: str, data: bytes) -> RenderableType:
    heading = Rule(f"{title} ({size(len(data))})", align="left", style="dim")
    if not data:
        return heading
    return Group(heading, Text(shown_text(data).removesuffix("\n")))


def result_view(result: Mapping[str, Any]) -> RenderableType:
    """A run's output, then its exit code, flags and measured figures."""
    failed = run_failed(result)
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    code = result["exit_code"]
    facts.add_row("exit code", Text("none (killed)" if code is None else str(code)))
    status = ", ".join(flags(result)) or ("failed" if failed else "ok")
    facts.add_row("status", Text(status, "red" if failed else "green"))
    facts.add_row("duration", seconds(result.get("duration")))
    facts.add_row("cpu time", seconds(result.get("cpu_time")))
    facts.add_row("memory peak", size(result.get("memory_peak")))
    parts: list[RenderableType] = [stream("stdout", result["stdout"])]
    if result["stderr"]:
        parts.append(stream("stderr", result["stderr"]))
    parts += [Rule(style="dim"), facts]
    return Group(*parts)


def points(row: Mapping[str, Any]) -> str:
    """A test's score out of its points: 1.5/3; "-" when it carries none."""
    if not row.get("points") and not row.get("score"):
        return NOTHING
    return f"{_number(row['score'])}/{_number(row['points'])}"


def _number(value: float) -> str:
    return f"{value:g}"


def difference(row: Mapping[str, Any], width: int) -> Text | None:
    """A wrong answer's first differing line, output and answer, each cut to `width`."""
    found = row.get("difference")
    if not found:
        return None
    text = Text(f"line {found['line']}:\n", style="dim")
    for label, key in (("  output:   ", "output"), ("  expected: ", "expected")):
        shown = "(nothing)" if found[key] is None else shown_text(found[key].encode())
        room = max(width - len(label), 10)
        if len(shown) > room:
            shown = shown[: room - 1] + "…"
        text.append(label, style="dim")
        text.append(shown + "\n")
    return text


def tests_table(report: Mapping[str, Any], width: int) -> Table:
    """One row per test: verdict, score, time, cpu, memory and the checker's message;
    a wrong answer gets its first differing line under it."""
    table = Table("test", "verdict", "points", "time", "cpu", "memory", "message")
    for column in table.columns[2:6]:
        column.justify = "right"
    for row in report["tests"]:
        message = row.get("checker_message") or ""
        table.add_row(
            Text(row["name"]),
            Text(row["verdict"], verdict_style(row["verdict"])),
            points(row),
            seconds(row["duration"]),
            seconds(row["cpu_time"]),
            size(row["memory_peak"]),
            Text(shown_text(message.encode())[:width]),
        )
        shown = difference(row, width - 4)
        if shown is not None:
            table.add_row("", shown.rstrip() or shown, "", "", "", "", "")
    return table


def report_view(report: Mapping[str, Any], width: int = 100) -> RenderableType:
    """A grading report: the compiler's complaint or a table of verdicts, then a summary."""
    verdict = report["verdict"]
    style = verdict_style(verdict)
    parts: list[RenderableType] = []
    if verdict == "compile error":
        compiled = report["compile"]
        parts.append(stream("compiler output", compiled["stderr"] or compiled["stdout"]))
    else:
        parts.append(tests_table(report, width))
    summary = Text.assemble(
        (verdict, f"bold {style}"),
        f": {report['passed']}/{report['total']} tests passed",
    )
    if report.get("max_score"):
        summary.append(f"; score {_number(report['score'])}/{_number(report['max_score'])}")
    if report["tests"]:
        summary.append(
            f"; max cpu {seconds(report['cpu_time'])}, max memory {size(report['memory_peak'])}"
        )
    parts.append(summary)
    return Group(*parts)
