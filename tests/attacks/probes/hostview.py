"""What of the host a sandbox can see: its processes, its hostname and the given paths."""

import os
import socket
import sys

pids = sorted(int(name) for name in os.listdir("/proc") if name.isdigit())
commands = set()
for pid in pids:
    try:
        with open(f"/proc/{pid}/comm") as comm:
            commands.add(comm.read().strip())
    except OSError:
        pass
print("pids", *pids)
print("commands", *sorted(commands))
print("hostname", socket.gethostname())
for path in sys.argv[1:]:
    print("exists" if os.path.lexists(path) else "absent", path)
