"""The cross-wiring loop over socket pairs that stand in for two attach sockets."""

import socket
import threading
import time

from graderq.sandbox.communicate import Ending
from graderq.sandbox.crosswire import Side, crosswire, wire


def frame(data: bytes, stream: int = 1) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


def pair() -> tuple[Side, Side, socket.socket, socket.socket]:
    ours_a, theirs_a = socket.socketpair()
    ours_b, theirs_b = socket.socketpair()
    first, second = Side(ours_a, 1024), Side(ours_b, 1024)
    wire(first, second)
    return first, second, theirs_a, theirs_b


def test_each_side_reads_what_the_other_writes_then_eof() -> None:
    first, second, a, b = pair()

    def container_a() -> None:
        a.sendall(frame(b"ping\n"))
        assert a.recv(100) == b"pong\n"
        a.close()

    def container_b() -> None:
        assert b.recv(100) == b"ping\n"
        b.sendall(frame(b"pong\n") + frame(b"log\n", 2))
        assert b.recv(100) == b""  # its stdin is closed once the first side ended
        b.close()

    threads = [threading.Thread(target=job) for job in (container_a, container_b)]
    for thread in threads:
        thread.start()
    endings = crosswire(first, second, time.monotonic() + 5)
    for thread in threads:
        thread.join()
    assert (endings.first, endings.second) == (Ending.EXITED, Ending.EXITED)
    assert first.demuxer.stdout == b"ping\n" and second.demuxer.stderr == b"log\n"


def test_a_deadlock_ends_at_the_deadline() -> None:
    first, second, a, b = pair()
    endings = crosswire(first, second, time.monotonic() + 0.3)
    assert (endings.first, endings.second) == (Ending.REALTIME, Ending.REALTIME)
    a.close(), b.close()


def test_an_output_over_its_cap_ends_the_pair() -> None:
    first, second, a, b = pair()
    b.sendall(frame(b"x" * 2000))
    endings = crosswire(first, second, time.monotonic() + 5)
    assert (endings.first, endings.second) == (Ending.PEER, Ending.OUTPUT)
    a.close(), b.close()
