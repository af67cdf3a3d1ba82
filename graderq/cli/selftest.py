"""Self-tests of the languages: compile and run sample programs through an engine.

For each language, a hello world and an A+B program (configs/samples/ID.toml) are
compiled once in a working directory and run there, as a grading runs them; the
outputs must be exactly what they should be. DMOJ's executors test themselves the
same way. `graderq doctor --languages` prints the figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graderq.engine import Engine
from graderq.judging.report import run_failed, same_output
from graderq.languages import Language

HELLO = b"Hello, world!\n"
A_PLUS_B = [(b"2 3\n", b"5\n"), (b"1000000000 2000000000\n", b"3000000000\n")]
"""A+B's inputs and outputs; the second needs 64-bit integers."""


@dataclass
class LanguageCheck:
    """What the self-test of one language found; `problems` empty means it passed."""

    language: str
    version: str | None = None
    compile_time: float | None = None
    """Seconds the hello world's compile step took (None: nothing to compile)."""
    run_time: float | None = None
    """Seconds the hello world's run took."""
    cpu_time: float | None = None
    memory_peak: int | None = None
    """Bytes at the hello world's peak."""
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def first_line(result: dict[str, Any]) -> str:
    """The first non-blank line of a run's output (stdout, else stderr)."""
    for stream in (result["stdout"], result["stderr"]):
        for line in stream.decode(errors="replace").splitlines():
            if line.strip():
                return line.strip()
    return ""


def version(engine: Engine, language: Language) -> str:
    """The toolchain's version, as its image's `version` command prints it."""
    return first_line(engine.run(language.profile, language.version))


def _failure(what: str, result: dict[str, Any]) -> str:
    detail = first_line({"stdout": result["stderr"], "stderr": result["stdout"]})
    how = (
        "timed out"
        if result["timeout"]
        else "ran out of memory"
        if result["oom_killed"]
        else f"exited {result['exit_code']}"
    )
    return f"{what} {how}: {detail[:200]}" if detail else f"{what} {how}"


def compile_and_run(
    engine: Engine,
    language: Language,
    source: str,
    cases: list[tuple[bytes | None, bytes]],
    check: LanguageCheck,
    what: str,
) -> list[dict[str, Any]] | None:
    """Compile `source` once and run every case in one working directory; note each
    failure in `check.problems`. The run results, or None if it did not compile."""
    with engine.working_directory() as workdir:
        step = language.compile_step()
        compiled = engine.run(**step, files=language.files(source), workdir=workdir)
        if run_failed(compiled):
            check.problems.append(_failure(f"{what}: compiling", compiled))
            return None
        if language.compiled and check.compile_time is None:
            check.compile_time = compiled["duration"]
        results = []
        for stdin, expected in cases:
            result = engine.run(language.profile, language.run, stdin=stdin, workdir=workdir)
            results.append(result)
            if run_failed(result):
                check.problems.append(_failure(f"{what}: running", result))
            elif not same_output(result["stdout"], expected, exact=True):
                check.problems.append(
                    f"{what}: printed {result['stdout'][:80]!r} for {stdin!r}, not {expected!r}"
                )
        return results


def check_language(engine: Engine, language: Language, samples: dict[str, str]) -> LanguageCheck:
    """Self-test one language whose image is present: version, hello world, A+B."""
    check = LanguageCheck(language.id)
    check.version = version(engine, language)
    if not check.version:
        check.problems.append(f"`{language.version}` printed nothing")
    for name in ("hello", "aplusb"):
        if name not in samples:
            check.problems.append(f"no {name!r} sample program")
    if check.problems:
        return check
    hello = compile_and_run(engine, language, samples["hello"], [(None, HELLO)], check, "hello")
    if hello:
        check.run_time = hello[0]["duration"]
        check.cpu_time = hello[0]["cpu_time"]
        check.memory_peak = hello[0]["memory_peak"]
    compile_and_run(engine, language, samples["aplusb"], A_PLUS_B, check, "A+B")
    return check
