"""One test of an interactive problem: the submission and the interactor, cross-wired.

The submission runs in the grading's workdir under its own limits; the interactor runs
in a sandbox of its own (neither sees the other's files) as `COMMAND input.txt
output.txt`, the test's input as input.txt, as testlib's registerInteraction reads
them. The interactor's exit code is the verdict (testlib's codes), after the
submission's own limits (graderq.judging.report.interactive_verdict).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graderq.engine import Engine
from graderq.judging.checkers import INTERACTOR_FILES, program_check
from graderq.judging.report import interactive_verdict
from graderq.judging.verdicts import Verdict
from graderq.queue.program_cache import ready_files
from graderq.workdir import WorkingDirectory


def interactor_command(command: str) -> str:
    return " ".join((command, *INTERACTOR_FILES))


def run_interactive(
    engine: Engine,
    step: Mapping[str, Any],
    workdir: WorkingDirectory | None,
    interactor: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], Verdict]:
    """(the submission's result, the interactor's check, the test's verdict)."""
    files = [*ready_files(interactor), {"name": "input.txt", "content": step.get("stdin") or b""}]
    own = {key: step.get(key) for key in ("profile_name", "command", "limits")}
    with (
        engine.create(**own, workdir=workdir) as submission,
        engine.create(
            interactor["profile_name"],
            interactor_command(interactor["command"]),
            files,
            interactor.get("limits"),
        ) as peer,
    ):
        result, peer_result = engine.interact(submission, peer)
    check = program_check(peer_result, "interactor")
    verdict = interactive_verdict(result, peer_result)
    return result, check, verdict if verdict is not None else Verdict(check["verdict"])
