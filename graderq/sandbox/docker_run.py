"""One start of a created sandbox container on a Docker daemon: attach, start, stream
its output under the cap, kill it at its limits, inspect how it ended."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, NamedTuple

import docker

from graderq.limits import Limits
from graderq.sandbox.accounting import Accounting, Usage
from graderq.sandbox.communicate import Ending, communicate, drain
from graderq.sandbox.docker_api import engine_errors
from graderq.sandbox.frames import Demuxer
from graderq.sandbox.outcome import Outcome, duration, oom_killed

NO_USAGE = Usage(None, None)
DRAIN_GRACE = 1.0
"""Seconds to keep reading output already in flight after graderq kills a sandbox."""
WAIT_GRACE = 30.0
"""Seconds the daemon may take to report a killed or exited container as stopped."""


class Begun(NamedTuple):
    """A sandbox's accounting from before its start."""

    cpu_before: float | None
    over_cpu: Callable[[], bool] | None
    """Whether the cgroup has used its CPU budget; None: no budget to watch."""
    oom_before: int | None


NOT_ACCOUNTED = Begun(None, None, None)


def begin(accounting: Accounting | None, cgroup: str | None, limits: Limits) -> Begun:
    """Read the cgroup's CPU and OOM kills before start: a program may end before start
    returns (a JVM's hello world does), and what it used then is its own. runc's few ms
    of set-up in the container count too: they are the same process."""
    if accounting is None or cgroup is None:
        return NOT_ACCOUNTED
    before = accounting.begin(cgroup)
    watch = None if limits.cputime is None else accounting.watch(cgroup, before + limits.cputime)
    return Begun(before, watch, accounting.oom_kills(cgroup))


def stopped_state(api: docker.APIClient, container: str) -> dict[str, Any]:
    """The container's State once it has stopped. Its stream ends when it has, so one
    inspect usually suffices; wait only if the daemon has not caught up yet."""
    state = api.inspect_container(container)["State"]
    if state.get("Running"):
        api.wait(container, timeout=WAIT_GRACE)
        state = api.inspect_container(container)["State"]
    return state


def outcome(
    state: dict[str, Any],
    demuxer: Demuxer,
    ending: Ending,
    limits: Limits,
    usage: Usage,
    oom_before: int | None,
) -> Outcome:
    """How a stopped sandbox ended, from its State, its output and its cgroup's usage."""
    return Outcome(
        exit_code=state.get("ExitCode"),
        stdout=demuxer.stdout,
        stderr=demuxer.stderr,
        duration=duration(state.get("StartedAt"), state.get("FinishedAt")),
        oom_killed=oom_killed(state, usage, limits, ending, oom_before),
        ending=ending,
        output_truncated=demuxer.truncated,
        cpu_time=usage.cpu_time,
        memory_peak=usage.memory_peak,
    )


def run(
    api: docker.APIClient,
    killer: Callable[[str], Future[None]],
    container: str,
    stdin: bytes | None,
    limits: Limits,
    demuxer: Demuxer,
    cgroup: str | None,
    accounting: Accounting | None,
) -> Outcome:
    """Start the created `container` and stream it to its end: its stdin fed, its output
    read under the cap, killed (through `killer`, on another thread) at realtime, at the
    cgroup's CPU budget or at the output cap, then inspected."""
    with engine_errors("cannot run the sandbox"):
        attached = api.attach_socket(
            container, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        )
        sock = getattr(attached, "_sock", attached)
        killing: Future[None] | None = None
        try:
            begun = begin(accounting, cgroup, limits)
            api.start(container)
            started = time.monotonic()
            deadline = None if limits.realtime is None else started + limits.realtime
            ending = communicate(sock, stdin, deadline, demuxer, begun.over_cpu)
            if ending is not Ending.EXITED:
                # The daemon stops a container only once its pending output is copied
                # to this socket: kill from another thread while this one reads on.
                killing = killer(container)
                drain(sock, demuxer, DRAIN_GRACE)
        finally:
            attached.close()
            sock.close()
        if killing is not None:
            killing.result()
        state = stopped_state(api, container)
    usage = NO_USAGE
    if accounting is not None and cgroup is not None:
        usage = accounting.usage(cgroup, begun.cpu_before)
    return outcome(state, demuxer, ending, limits, usage, begun.oom_before)
