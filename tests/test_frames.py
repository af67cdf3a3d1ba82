import struct

from graderq.sandbox.frames import STDERR, STDOUT, Demuxer


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxI", stream, len(payload)) + payload


def test_demux_frames_cut_at_every_byte() -> None:
    raw = frame(STDOUT, b"hello ") + frame(STDERR, b"oops") + frame(STDOUT, b"world")
    demuxer = Demuxer(cap=100)
    for i in range(len(raw)):
        demuxer.feed(raw[i : i + 1])
    assert (demuxer.stdout, demuxer.stderr, demuxer.truncated) == (b"hello world", b"oops", False)


def test_cap_keeps_the_first_bytes_of_each_stream() -> None:
    demuxer = Demuxer(cap=4)
    demuxer.feed(frame(STDOUT, b"abc") + frame(STDERR, b"12") + frame(STDOUT, b"defg"))
    assert (demuxer.stdout, demuxer.stderr, demuxer.truncated) == (b"abcd", b"12", True)


def test_memory_is_bounded_by_the_cap_whatever_the_frame_size() -> None:
    demuxer = Demuxer(cap=10)
    header = struct.pack(">BxxxI", STDOUT, 10**9)
    demuxer.feed(header)
    for _ in range(100):
        demuxer.feed(b"x" * 65536)
    assert len(demuxer.stdout) == 10
    assert demuxer.truncated


def test_unknown_stream_types_are_ignored() -> None:
    demuxer = Demuxer(cap=10)
    demuxer.feed(frame(0, b"stdin echo") + frame(STDOUT, b"ok"))
    assert demuxer.stdout == b"ok"
    assert not demuxer.truncated
