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
from enum import Enum

from graderq.sandbox.frames import Demuxer

CHUNK = 64 * 1024


class Ending(Enum):
    """Why the output loop stopped."""

    EXITED = "exited"
    REALTIME = "realtime"
    OUTPUT = "output"


def communicate(
    sock: socket.socket, stdin: bytes | None, deadline: float | None, demuxer: Demuxer
) -> Ending:
    """Pump stdin in and output out until EOF, `deadline` (monotonic) or the cap."""
    pending = memoryview(stdin or b"")
    sock.setblocking(False)
    with selectors.DefaultSelector() as selector:
        if pending:
            selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        else:
            _close_stdin(sock)
            selector.register(sock, selectors.EVENT_READ)
        while True:
            timeout = None if deadline is None else deadline - time.monotonic()
            if timeout is not None and timeout <= 0:
                return Ending.REALTIME
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
