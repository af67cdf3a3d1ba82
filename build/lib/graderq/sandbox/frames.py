"""Docker's multiplexed attach stream, demultiplexed incrementally under a cap.

Without a TTY, Docker frames the output as an 8-byte header (stream type, three zero
bytes, big-endian payload size) and the payload. Payload bytes are copied straight to
their stream as they arrive, so memory stays within `cap` per stream plus one header,
whatever the frame sizes.
"""

from __future__ import annotations

STDOUT, STDERR = 1, 2
HEADER_SIZE = 8


class Demuxer:
    """Split a frame stream into stdout and stderr, keeping at most `cap` bytes of each."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.streams = {STDOUT: bytearray(), STDERR: bytearray()}
        self.truncated = False
        self._header = bytearray()
        self._stream = 0
        self._remaining = 0

    @property
    def stdout(self) -> bytes:
        return bytes(self.streams[STDOUT])

    @property
    def stderr(self) -> bytes:
        return bytes(self.streams[STDERR])

    def feed(self, data: bytes) -> None:
        """Consume the next piece of the raw stream, cut anywhere."""
        pos, end = 0, len(data)
        while pos < end:
            if self._remaining == 0:
                take = HEADER_SIZE - len(self._header)
                self._header += data[pos : pos + take]
                pos += take
                if len(self._header) < HEADER_SIZE:
                    return
                self._stream = self._header[0]
                self._remaining = int.from_bytes(self._header[4:8], "big")
                self._header.clear()
                continue
            chunk = data[pos : pos + self._remaining]
            pos += len(chunk)
            self._remaining -= len(chunk)
            self._keep(self._stream, chunk)

    def _keep(self, stream: int, chunk: bytes) -> None:
        target = self.streams.get(stream)
        if target is None:
            return
        room = self.cap - len(target)
        if len(chunk) > room:
            self.truncated = True
            chunk = chunk[: max(room, 0)]
        target += chunk
