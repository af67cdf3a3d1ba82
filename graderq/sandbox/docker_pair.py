"""Two created sandbox containers on one Docker daemon, started together, cross-wired.

DockerBackend.interact's body: attach both, start both, pump bytes between them
(crosswire.py), kill whichever is still running when the pair ends, then inspect both.
The first container's limits bound the pair's realtime and CPU watch (it is the
submission); each keeps its own output cap, and its own limits in the kernel.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

from graderq.limits import Limits
from graderq.sandbox.communicate import Ending, drain
from graderq.sandbox.crosswire import Side, crosswire, wire
from graderq.sandbox.docker_api import engine_errors
from graderq.sandbox.docker_run import (
    DRAIN_GRACE,
    NO_USAGE,
    NOT_ACCOUNTED,
    Begun,
    begin,
    outcome,
    stopped_state,
)
from graderq.sandbox.outcome import Outcome

if TYPE_CHECKING:
    from graderq.sandbox.docker_backend import DockerBackend

ATTACH = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}


def interact(
    backend: DockerBackend, first: str, first_limits: Limits, second: str, second_limits: Limits
) -> tuple[Outcome, Outcome]:
    """Run containers `first` and `second` at once, each one's stdout feeding the other's
    stdin; their outcomes, in that order."""
    api = backend.api
    with engine_errors("cannot run the cross-wired sandboxes"):
        attached = [api.attach_socket(container, params=ATTACH) for container in (first, second)]
        sides = [
            Side(getattr(a, "_sock", a), limits.output)
            for a, limits in zip(attached, (first_limits, second_limits), strict=True)
        ]
        wire(*sides)
        try:
            # Before start, as for one sandbox (docker_run.begin).
            begun = begin(backend.accounting, backend._cgroups.get(first), first_limits)
            api.start(second)
            api.start(first)
            started = time.monotonic()
            deadline = None if first_limits.realtime is None else started + first_limits.realtime
            endings = crosswire(sides[0], sides[1], deadline, begun.over_cpu)
            _stop(
                backend,
                [c for c, s in zip((first, second), sides, strict=True) if not s.ended],
                sides,
            )
        finally:
            for handle, side in zip(attached, sides, strict=True):
                with contextlib.suppress(OSError):
                    handle.close()
                    side.sock.close()
        first_outcome = _outcome(backend, first, sides[0], endings.first, begun, first_limits)
        second_outcome = _outcome(
            backend, second, sides[1], endings.second, NOT_ACCOUNTED, second_limits
        )
    return first_outcome, second_outcome


def _stop(backend: DockerBackend, running: list[str], sides: list[Side]) -> None:
    """Kill the containers still running, reading on while their output drains."""
    if not running:
        return
    killing = [backend.kill_later(container) for container in running]
    for side in sides:
        if not side.ended:
            drain(side.sock, side.demuxer, DRAIN_GRACE)
    for future in killing:
        future.result()


def _outcome(
    backend: DockerBackend,
    container: str,
    side: Side,
    ending: Ending,
    begun: Begun,
    limits: Limits,
) -> Outcome:
    state = stopped_state(backend.api, container)
    cgroup = backend._cgroups.get(container)
    usage = NO_USAGE
    if backend.accounting is not None and cgroup is not None and begun.cpu_before is not None:
        usage = backend.accounting.usage(cgroup, begun.cpu_before)
    return outcome(state, side.demuxer, ending, limits, usage, begun.oom_before)
