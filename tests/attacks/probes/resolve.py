"""Resolve each NAME argument twice: through the resolver (resolv.conf) and by asking
Docker's embedded DNS at 127.0.0.11 directly (an A query over UDP, inside the sandbox's
own network namespace). Prints "NAME RESOLVER-ANSWER DIRECT-ANSWER": an address, or
the error (NOANSWER, NXDOMAIN, SERVFAIL, timeout, EAI_...). The NAME `self` is the sandbox's own
host name (its container's short ID)."""

import random
import socket
import struct
import sys

RCODES = {1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}


def through_resolver(name: str) -> str:
    try:
        return socket.getaddrinfo(name, None, socket.AF_INET)[0][4][0]
    except socket.gaierror as exc:
        names = {socket.EAI_NONAME: "EAI_NONAME", socket.EAI_AGAIN: "EAI_AGAIN"}
        names[getattr(socket, "EAI_NODATA", -5)] = "EAI_NODATA"
        return names.get(exc.errno, f"EAI_{exc.errno}")


def direct(name: str) -> str:
    ident = random.randrange(65536)
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    query = struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question + b"\0\1\0\1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(query, ("127.0.0.11", 53))
        try:
            answer = sock.recv(4096)
        except TimeoutError:
            return "timeout"
    flags, _, count = struct.unpack(">HHH", answer[2:8])
    if flags & 0xF:
        return RCODES.get(flags & 0xF, f"RCODE{flags & 0xF}")
    if not count:
        return "NOANSWER"
    return socket.inet_ntoa(answer[-4:])  # one A record: its address ends the message


for name in sys.argv[1:]:
    asked = socket.gethostname() if name == "self" else name
    print(name, through_resolver(asked), direct(asked), flush=True)
