"""The address settings of sandboxes with network, parsed and checked.

GRADERQ_SANDBOX_ALLOW (what they may reach) and GRADERQ_SANDBOX_SUBNETS (the range of
their networks, a /28 each): Settings validates them with these, and the sandbox layer
applies what they return (sandbox/perimeter.py, sandbox/networks.py). IPv4 only.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

PREFIX_LENGTH = 28
"""Each network's subnet: 16 addresses (the gateway, the sandbox, room to spare)."""


@dataclass(frozen=True)
class Allowed:
    """One destination sandboxes may reach: a network, and one port of it or all."""

    network: ipaddress.IPv4Network
    port: int | None = None

    def __str__(self) -> str:
        return f"{self.network}" + ("" if self.port is None else f":{self.port}")


def parse_allow(text: str) -> tuple[Allowed, ...]:
    """`CIDR` or `CIDR:PORT` entries, comma-separated (GRADERQ_SANDBOX_ALLOW)."""
    found = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        address, _, port = entry.partition(":")
        try:
            network = ipaddress.IPv4Network(address, strict=True)
        except ValueError as exc:
            raise ValueError(f"sandbox_allow entry {entry!r}: not an IPv4 CIDR ({exc})") from None
        number = None
        if port:
            if not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"sandbox_allow entry {entry!r}: bad port {port!r}")
            number = int(port)
        found.append(Allowed(network, number))
    return tuple(found)


def parse_subnets(text: str, slots: int | None = None) -> ipaddress.IPv4Network:
    """GRADERQ_SANDBOX_SUBNETS as a network, checked to hold `slots` /28s."""
    try:
        subnets = ipaddress.IPv4Network(text.strip(), strict=True)
    except ValueError as exc:
        raise ValueError(f"sandbox_subnets {text!r}: not an IPv4 CIDR ({exc})") from None
    if subnets.prefixlen > PREFIX_LENGTH:
        raise ValueError(f"sandbox_subnets {text!r}: smaller than one /{PREFIX_LENGTH}")
    held = 2 ** (PREFIX_LENGTH - subnets.prefixlen)
    if slots is not None and held < slots:
        raise ValueError(
            f"sandbox_subnets {text!r} holds {held} /{PREFIX_LENGTH} networks, fewer than "
            f"the {slots} sandboxes that may run at once (sandbox_uid_slots)"
        )
    return subnets
