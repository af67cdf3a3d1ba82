"""Queues and routes: any-node work on one shared queue, workdir work on its node's.

A working directory is a Docker volume, so it lives on one Docker host (a node). Every
worker consumes the shared queue and the queue of its own node; a task bound to a
workdir is routed, by a routing key derived from the workdir, to that node's queue.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping, Sequence
from typing import Any

from graderq.errors import WorkdirError
from graderq.workdir import WorkingDirectory, as_workdir

DEFAULT_QUEUE = "graderq"
NODE_QUEUE_PREFIX = "graderq.node."
_NODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def node_queue(node: str) -> str:
    """The queue (and routing key) of the worker host `node`."""
    if not _NODE.match(node):
        raise WorkdirError(f"invalid node name {node!r}")
    return NODE_QUEUE_PREFIX + node


def workdir_route(workdir: WorkingDirectory) -> dict[str, str]:
    """Where a task bound to `workdir` must go: its node's queue."""
    if not workdir.node:
        raise WorkdirError(
            f"{workdir!r} has no node; create it with graderq.client.working_directory()"
        )
    queue = node_queue(workdir.node)
    return {"queue": queue, "routing_key": queue}


def call_arguments(
    task: Any, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The named arguments of a call of `task`, or None if they do not fit its signature."""
    try:
        return dict(inspect.signature(task.run).bind(*args, **kwargs).arguments)
    except TypeError:
        return None


def route_task(
    name: str,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    options: Mapping[str, Any],
    task: Any = None,
    **_: Any,
) -> dict[str, str] | None:
    """Celery router: a graderq task with a `workdir` argument goes to its node."""
    if task is None or not name.startswith("graderq."):
        return None
    arguments = call_arguments(task, args, kwargs)
    if arguments is None:
        return None  # a bad call: the worker reports it; route it anywhere
    try:
        workdir = as_workdir(arguments.get("workdir"))
    except WorkdirError:
        return None
    if workdir is None or not workdir.node:
        return None
    return workdir_route(workdir)
