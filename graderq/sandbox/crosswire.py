"""Two started containers talking to each other over their attach sockets, cross-wired.

One thread, one selector, as in communicate.py: what one side writes to its stdout is
written to the other side's stdin as the socket accepts it, both outputs are kept
(each under its own cap), and the loop ends when both streams end, at the deadline,
when a side's output passes its cap, or when the first side's CPU budget is spent.
When one side's stream ends, the other side's stdin is closed once every byte the
ended side wrote has been passed on: a program reading its peer sees end of file.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from graderq.sandbox.communicate import WATCH_EVERY, Ending, _close_stdin, _read, _write
from graderq.sandbox.frames import STDOUT, Demuxer


class Tap(Demuxer):
    """A Demuxer that also hands each stdout payload to `forward` as it arrives."""

    def __init__(self, cap: int, forward: Callable[[bytes], None]) -> None:
        super().__init__(cap)
        self._forward = forward

    def _keep(self, stream: int, chunk: bytes) -> None:
        if stream == STDOUT and chunk:
            self._forward(bytes(chunk))
        super()._keep(stream, chunk)


@dataclass
class Side:
    """One container of the pair: its socket, its output, the bytes owed to its stdin."""

    sock: socket.socket
    cap: int
    pending: bytearray = field(default_factory=bytearray)
    ended: bool = False
    """Its output stream reached EOF: the container has stopped."""
    stdin_closed: bool = False
    demuxer: Demuxer = field(init=False)

    def close_stdin(self) -> None:
        if not self.stdin_closed:
            self.stdin_closed = True
            self.pending.clear()
            _close_stdin(self.sock)


@dataclass(frozen=True)
class Endings:
    """Why the pair's loop stopped, for each side (EXITED: its stream ended by itself)."""

    first: Ending
    second: Ending


def wire(first: Side, second: Side) -> None:
    """Make each side's stdout feed the other side's stdin."""
    first.demuxer = Tap(first.cap, second.pending.extend)
    second.demuxer = Tap(second.cap, first.pending.extend)


def crosswire(
    first: Side,
    second: Side,
    deadline: float | None,
    over_cpu: Callable[[], bool] | None = None,
) -> Endings:
    """Pump bytes between the two sides (wired with `wire`) until both streams end,
    `deadline` (monotonic) passes, a side's output passes its cap, or `over_cpu()`
    (the first side's budget, checked every WATCH_EVERY seconds) turns true."""
    sides = (first, second)
    next_watch = time.monotonic() + WATCH_EVERY
    with selectors.DefaultSelector() as selector:
        for side in sides:
            side.sock.setblocking(False)
            selector.register(side.sock, selectors.EVENT_READ, side)
        while not (first.ended and second.ended):
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return _stopped(sides, Ending.REALTIME)
            if over_cpu is not None and now >= next_watch:
                if over_cpu():
                    return Endings(Ending.CPU, Ending.EXITED if second.ended else Ending.PEER)
                next_watch = now + WATCH_EVERY
            for side in sides:
                if not side.ended:
                    _watch(selector, side)
            timeout = _timeout(now, deadline, next_watch if over_cpu else None)
            for key, mask in selector.select(timeout):
                side = key.data
                if mask & selectors.EVENT_WRITE and side.pending:
                    side.pending[:] = _write(side.sock, memoryview(bytes(side.pending)))
                if mask & selectors.EVENT_READ and _take(selector, side):
                    return _overflowed(first, second, side)
            for side, peer in ((first, second), (second, first)):
                if side.ended and not peer.pending and not peer.ended:
                    peer.close_stdin()  # everything the ended side wrote is passed on
    return Endings(Ending.EXITED, Ending.EXITED)


def _take(selector: selectors.BaseSelector, side: Side) -> bool:
    """Read what `side` wrote; True if its output passed its cap."""
    data = _read(side.sock)
    if data is None:
        return False
    if not data:
        side.ended = True
        side.pending.clear()  # it stopped: nothing more reaches its stdin
        selector.unregister(side.sock)
        return False
    side.demuxer.feed(data)
    return side.demuxer.truncated


def _watch(selector: selectors.BaseSelector, side: Side) -> None:
    """Watch a side for reads, and for writes while bytes are owed to its open stdin."""
    events = selectors.EVENT_READ
    if side.pending and not side.stdin_closed:
        events |= selectors.EVENT_WRITE
    if selector.get_key(side.sock).events != events:
        selector.modify(side.sock, events, side)


def _timeout(now: float, deadline: float | None, watch: float | None) -> float | None:
    wakes = [moment - now for moment in (deadline, watch) if moment is not None]
    return max(min(wakes), 0.0) if wakes else None


def _stopped(sides: tuple[Side, Side], ending: Ending) -> Endings:
    first, second = (Ending.EXITED if side.ended else ending for side in sides)
    return Endings(first, second)


def _overflowed(first: Side, second: Side, culprit: Side) -> Endings:
    """The culprit's output passed its cap; the other side is killed for its sake."""
    if culprit is first:
        return Endings(Ending.OUTPUT, Ending.EXITED if second.ended else Ending.PEER)
    return Endings(Ending.EXITED if first.ended else Ending.PEER, Ending.OUTPUT)
