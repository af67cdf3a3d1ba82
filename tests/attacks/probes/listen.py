"""Accept one TCP connection on PORT for a few seconds; print who came, if anyone.

With a third argument, create that file once listening (a readiness mark for others).
"""

import pathlib
import socket
import sys

server = socket.socket()
server.bind(("0.0.0.0", int(sys.argv[1])))
server.listen()
server.settimeout(float(sys.argv[2]))
print("listening", flush=True)
if len(sys.argv) > 3:
    pathlib.Path(sys.argv[3]).touch()
try:
    peer, address = server.accept()
    print("accepted", address[0], flush=True)
    peer.close()
except TimeoutError:
    print("nobody came", flush=True)
