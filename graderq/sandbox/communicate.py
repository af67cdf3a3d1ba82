"""Talk to a started container over its attach socket: feed stdin, collect output.

One thread, one selector: stdin is written as the socket accepts it while output is
read, so neither side can block the other, and the loop ends at EOF, at the realtime
deadline or when a stream passes its cap.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import time
from collections.abc import Callable
from enum import Enum

from graderq.sandbox.frames import Demuxer

CHUNK = 64 * 1024
WATCH_EVERY = 0.05
"""Seconds between checks of the sandbox's CPU time against its budget."""


class Ending(Enum):
    """Why the output loop stopped."""

    EXITED = "exited"
    REALTIME = "realtime"
    OUTPUT = "output"
    CPU = "cpu"
    PEER = "peer"
    """Killed because the sandbox it was cross-wired with ended the pair (crosswire.py)."""


def communicate(
    sock: socket.socket,
    stdin: bytes | None,
    deadline: float | None,
    demuxer: Demuxer,
    over_cpu: Callable[[], bool] | None = None,
) -> Ending:
    """Pump stdin in and output out until EOF, `deadline` (monotonic), the output cap,
    or `over_cpu()` turning true (checked every WATCH_EVERY seconds)."""
    pending = memoryview(stdin or b"")
    next_watch = time.monotonic() + WATCH_EVERY
    sock.setblocking(False)
    with selectors.DefaultSelector() as selector:
        if pending:
            selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        else:
            _close_stdin(sock)
            selector.register(sock, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            timeout = None if deadline is None else deadline - now
            if timeout is not None and timeout <= 0:
                return Ending.REALTIME
            if over_cpu is not None:
                if now >= next_watch:
                    if over_cpu():
                        return Ending.CPU
                    next_watch = now + WATCH_EVERY
                wake = next_watch - now
                timeout = wake if timeout is None else min(timeout, wake)
            for _key, mask in selector.select(timeout):
                if mask & selectors.EVENT_WRITE:
                    pending = _write(sock, pending)
                    if not pending:
                        _close_stdin(sock)
                        selector.modify(sock, selectors.EVENT_READ)
                if mask & selectors.EVENT_READ:
                    data = _read(sock)
                    if data is None:
                        continue
                    if not data:
                        return Ending.EXITED
                    demuxer.feed(data)
                    if demuxer.truncated:
                        return Ending.OUTPUT


def drain(sock: socket.socket, demuxer: Demuxer, grace: float) -> None:
    """After a kill, keep what the daemon still delivers, for at most `grace` seconds."""
    deadline = time.monotonic() + grace
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        while (remaining := deadline - time.monotonic()) > 0:
            if not selector.select(remaining):
                return
            data = _read(sock)
            if data == b"":
                return
            demuxer.feed(data or b"")


def _write(sock: socket.socket, pending: memoryview) -> memoryview:
    try:
        sent = sock.send(pending[:CHUNK])
    except BlockingIOError:
        return pending
    except (BrokenPipeError, ConnectionResetError):
        return pending[:0]  # the sandbox stopped reading: the rest of stdin is dropped
    return pending[sent:]


def _read(sock: socket.socket) -> bytes | None:
    try:
        return sock.recv(CHUNK)
    except BlockingIOError:
        return None  # a spurious wake-up: nothing to read yet
    except ConnectionResetError:
        return b""


def _close_stdin(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
