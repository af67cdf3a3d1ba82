"""epicbox's `exceptions` module: `except epicbox.exceptions.DockerError` keeps working
after `import graderq as epicbox`; EpicBoxError is GraderqError, the base of them all."""

from graderq.errors import *  # noqa: F403 (the whole tree, under epicbox's module name)
from graderq.errors import GraderqError as EpicBoxError  # noqa: F401
