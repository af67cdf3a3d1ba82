"""Try a TCP connection to each HOST:PORT argument; print "HOST:PORT outcome" lines.

The HOST `gateway` is the sandbox's default gateway (the host's address on its bridge),
read from /proc/net/route; a line "gateway ADDRESS" tells which it was.
"""

import errno
import socket
import struct
import sys


def gateway() -> str:
    with open("/proc/net/route") as routes:
        for line in routes.readlines()[1:]:
            fields = line.split()
            if fields[1] == "00000000":
                address = socket.inet_ntoa(struct.pack("<I", int(fields[2], 16)))
                print("gateway", address, flush=True)
                return address
    raise SystemExit("no default route")


for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
    if host == "gateway":
        host = gateway()
    sock = socket.socket()
    sock.settimeout(2)
    try:
        sock.connect((host, int(port)))
        outcome = "connected"
    except TimeoutError:
        outcome = "timeout"
    except OSError as exc:
        outcome = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    finally:
        sock.close()
    print(target, outcome, flush=True)
