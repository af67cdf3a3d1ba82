"""Two created sandbox containers on one Docker daemon, started together, cross-wired.

DockerBackend.interact's body: attach both, start both, pump bytes between them
(crosswire.py), kill whichever is still running when the pair ends, then inspect both.
It is given what it uses of the backend (the API client, the accounting, the killer),
so that it never imports docker_backend, which imports it.
The first container's limits bound the pair's realtime and CPU watch (it is the
submission); each keeps its own output cap, and its own limits in the kernel.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import NamedTuple

import docker

from graderq.limits import Limits
from graderq.sandbox.accounting import Accounting
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

ATTACH = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}


class Party(NamedTuple):
    """One container of the pair: its id, its cgroup (None: not accounted), its limits."""

    container: str
    cgroup: str | None
    limits: Limits


def interact(
    api: docker.APIClient,
    accounting: Accounting | None,
    kill_later: Callable[[str], Future[None]],
    first: Party,
    second: Party,
) -> tuple[Outcome, Outcome]:
    """Run containers `first` and `second` at once, each one's stdout feeding the other's
    stdin; their outcomes, in that order."""
    with engine_errors("cannot run the cross-wired sandboxes"):
        attached = [api.attach_socket(p.container, params=ATTACH) for p in (first, second)]
        sides = [
            Side(getattr(a, "_sock", a), party.limits.output)
            for a, party in zip(attached, (first, second), strict=True)
        ]
        wire(*sides)
        try:
            # Before start, as for one sandbox (docker_run.begin).
            begun = begin(accounting, first.cgroup, first.limits)
            api.start(second.container)
            api.start(first.container)
            started = time.monotonic()
            realtime = first.limits.realtime
            deadline = None if realtime is None else started + realtime
            endings = crosswire(sides[0], sides[1], deadline, begun.over_cpu)
            running = [p for p, s in zip((first, second), sides, strict=True) if not s.ended]
            _stop(kill_later, [party.container for party in running], sides)
        finally:
            for handle, side in zip(attached, sides, strict=True):
                with contextlib.suppress(OSError):
                    handle.close()
                    side.sock.close()
        first_outcome = _outcome(api, accounting, first, sides[0], endings.first, begun)
        second_outcome = _outcome(api, accounting, second, sides[1], endings.second, NOT_ACCOUNTED)
    return first_outcome, second_outcome


def _stop(kill_later: Callable[[str], Future[None]], running: list[str], sides: list[Side]) -> None:
    """Kill the containers still running, reading on while their output drains."""
    if not running:
        return
    killing = [kill_later(container) for container in running]
    for side in sides:
        if not side.ended:
            drain(side.sock, side.demuxer, DRAIN_GRACE)
    for future in killing:
        future.result()


def _outcome(
    api: docker.APIClient,
    accounting: Accounting | None,
    party: Party,
    side: Side,
    ending: Ending,
    begun: Begun,
) -> Outcome:
    state = stopped_state(api, party.container)
    usage = NO_USAGE
    if accounting is not None and party.cgroup is not None and begun.cpu_before is not None:
        usage = accounting.usage(party.cgroup, begun.cpu_before)
    return outcome(state, side.demuxer, ending, party.limits, usage, begun.oom_before)
