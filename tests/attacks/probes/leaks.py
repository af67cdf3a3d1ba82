"""What a sandbox can read about other sandboxes; print "path what" for each path:
"absent", "empty", "unreadable", or how many entries/bytes it shows, and any line that
names a graderq disk image or loop device."""

import os
import sys

for path in sys.argv[1:]:
    if not os.path.lexists(path):
        print(path, "absent")
        continue
    try:
        if os.path.isdir(path):
            entries = os.listdir(path)
            print(path, f"{len(entries)}-entries" if entries else "empty")
            continue
        with open(path, "rb") as file:
            data = file.read()
    except OSError as exc:
        print(path, "unreadable", exc.errno)
        continue
    print(path, f"{len(data)}-bytes" if data else "empty")
    for line in data.decode(errors="replace").splitlines():
        if "graderq" in line or " loop" in line:
            print("leak", path, line[:200])
