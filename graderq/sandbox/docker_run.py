"""One start of a created sandbox container on a Docker daemon: attach, start, stream
its output under the cap, kill it at its limits, inspect how it ended."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future

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
    cpu_before: float | None = None
    oom_before: int | None = None
    with engine_errors("cannot run the sandbox"):
        attached = api.attach_socket(
            container, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        )
        sock = getattr(attached, "_sock", attached)
        killing: Future[None] | None = None
        try:
            over_cpu = None
            if accounting and cgroup:
                # Before start: a program may end before start returns (a JVM's hello
                # world does), and what it used then is its own. runc's few ms of
                # set-up in the container count too: they are the same process.
                cpu_before = accounting.begin(cgroup)
                oom_before = accounting.oom_kills(cgroup)
                if limits.cputime is not None:
                    over_cpu = accounting.watch(cgroup, cpu_before + limits.cputime)
            api.start(container)
            started = time.monotonic()
            deadline = None if limits.realtime is None else started + limits.realtime
            ending = communicate(sock, stdin, deadline, demuxer, over_cpu)
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
        # The stream ends when the container has stopped, so one inspect usually
        # suffices; wait only if the daemon has not caught up yet.
        state = api.inspect_container(container)["State"]
        if state.get("Running"):
            api.wait(container, timeout=WAIT_GRACE)
            state = api.inspect_container(container)["State"]
    usage = accounting.usage(cgroup, cpu_before) if accounting and cgroup else NO_USAGE
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
