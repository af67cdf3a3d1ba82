"""The `graderq` command group: its subcommands, and errors turned into exit codes."""

from __future__ import annotations

import traceback
from typing import Any

import click

from graderq.cli.doctor import doctor
from graderq.cli.exits import EPILOG, ExitCode, exit_code_for
from graderq.cli.grading import grade
from graderq.cli.languages import languages
from graderq.cli.maintenance import images, janitor
from graderq.cli.running import run, submit
from graderq.errors import GraderqError

INFRASTRUCTURE_HINT = "`graderq doctor` checks Docker, the images, the broker and the backend"


def describe(exc: BaseException) -> str:
    """An error's message; other libraries' errors also name their type."""
    message = str(exc).strip()
    if isinstance(exc, GraderqError) and message:
        return message
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class GraderqGroup(click.Group):
    """Runs a subcommand and turns its errors into messages and exit codes, no tracebacks
    (except for an unexpected error, which is a bug)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            code = exit_code_for(exc)
            if code is ExitCode.INTERRUPTED:
                click.echo("Interrupted", err=True)
            elif code is ExitCode.INTERNAL:
                click.echo(traceback.format_exc(), err=True, nl=False)
                click.echo(f"Error: unexpected {describe(exc)} (a bug in graderq)", err=True)
            else:
                click.echo(f"Error: {describe(exc)}", err=True)
                if code is ExitCode.INFRASTRUCTURE:
                    click.echo(f"Hint: {INFRASTRUCTURE_HINT}", err=True)
            raise click.exceptions.Exit(code) from exc


@click.group(
    cls=GraderqGroup,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="graderq")
def cli() -> None:
    """Run untrusted code in one-time Docker sandboxes, here or through the queue.

    Settings come from GRADERQ_* environment variables (or .env): see docs/operators.md.
    """


for command in (run, submit, grade, doctor, images, janitor, languages):
    cli.add_command(command)


def main() -> None:
    """The console script's entry point."""
    cli(prog_name="graderq")
