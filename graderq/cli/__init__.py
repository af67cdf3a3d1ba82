"""The `graderq` command: run, submit and grade submissions; check and tidy a host.

`graderq --help` lists the commands and the exit codes scripts can rely on. The top
layer: it may use every other, and nothing imports it.

Layer rules (checked by tests/test_layers.py):
- may import: ground, sandbox, engine, judging, queue, client, service, faces
- never imported by: every other layer
"""

from graderq.cli.main import cli, main

__all__ = ["cli", "main"]
