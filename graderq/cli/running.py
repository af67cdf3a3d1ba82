"""`graderq run` (this machine's Docker engine) and `graderq submit` (through the queue)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import IO, Any, TypeVar

import click

from graderq.cli.exits import EPILOG, ExitCode
from graderq.cli.output import print_json, result_view, stdout_console
from graderq.cli.params import LIMIT_HELP, files_option, limits_option
from graderq.judging.report import run_failed
from graderq.queue.records import live_nodes

F = TypeVar("F", bound=Callable[..., Any])


def sandbox_options(command: F) -> F:
    """The arguments and options `run` and `submit` share."""
    decorators = [
        click.argument("profile"),
        click.argument("command", required=False),
        click.option(
            "--file",
            "files",
            multiple=True,
            metavar="[NAME=]PATH",
            callback=files_option,
            help="Put a local file into /sandbox under its basename, or as NAME. Repeatable.",
        ),
        click.option("--stdin", "stdin_text", metavar="TEXT", help="Text to feed to stdin."),
        click.option(
            "--stdin-file",
            type=click.File("rb"),
            help="A file to feed to stdin ('-': this command's own stdin).",
        ),
        click.option(
            "--limit",
            "limits",
            multiple=True,
            metavar="NAME=VALUE",
            callback=limits_option,
            help=f"A limit {LIMIT_HELP}",
        ),
        click.option(
            "--json",
            "as_json",
            is_flag=True,
            help="Print the result as JSON: stdout/stderr are text when valid UTF-8, else "
            "base64, as stdout_encoding/stderr_encoding say.",
        ),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def read_stdin(text: str | None, file: IO[bytes] | None) -> bytes | None:
    if text is not None and file is not None:
        raise click.UsageError("give --stdin or --stdin-file, not both")
    if file is not None:
        return file.read()
    return None if text is None else text.encode()


def finish(result: Mapping[str, Any], as_json: bool) -> None:
    """Print a result and exit 0 if the command succeeded, else 1."""
    if as_json:
        print_json(result)
    else:
        stdout_console().print(result_view(result))
    raise click.exceptions.Exit(ExitCode.FAILED if run_failed(result) else ExitCode.OK)


@click.command(epilog=EPILOG)
@sandbox_options
def run(
    profile: str,
    command: str | None,
    files: list[dict[str, Any]] | None,
    stdin_text: str | None,
    stdin_file: IO[bytes] | None,
    limits: dict[str, Any] | None,
    as_json: bool,
) -> None:
    """Run COMMAND (default: the profile's) in a one-time sandbox of PROFILE, here.

    Uses this machine's Docker engine (GRADERQ_DOCKER_URL) and profiles file.
    """
    import graderq

    stdin = read_stdin(stdin_text, stdin_file)
    finish(graderq.run(profile, command, files, stdin, limits), as_json)


@click.command(epilog=EPILOG)
@sandbox_options
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Seconds to wait for the result [default: GRADERQ_TASK_TIME_LIMIT].",
)
def submit(
    profile: str,
    command: str | None,
    files: list[dict[str, Any]] | None,
    stdin_text: str | None,
    stdin_file: IO[bytes] | None,
    limits: dict[str, Any] | None,
    as_json: bool,
    timeout: float | None,
) -> None:
    """Run COMMAND in a one-time sandbox of PROFILE on a worker, through the queue.

    Waits for the result (GRADERQ_BROKER_URL, GRADERQ_RESULT_BACKEND).
    """
    from graderq import client
    from graderq.settings import get_settings

    stdin = read_stdin(stdin_text, stdin_file)
    if not live_nodes():
        click.echo("Warning: no worker is alive; the task waits in the queue for one", err=True)
    wait = timeout if timeout is not None else get_settings().task_time_limit
    finish(client.run(profile, command, files, stdin, limits, timeout=wait), as_json)
