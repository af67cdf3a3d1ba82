"""The `graderq` command: run, submit and grade submissions; check and tidy a host.

`graderq --help` lists the commands and the exit codes scripts can rely on.
"""

from graderq.cli.main import cli, main

__all__ = ["cli", "main"]
