"""Try a TCP connection to each HOST:PORT argument; print "HOST:PORT outcome" lines."""

import errno
import socket
import sys

for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
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
