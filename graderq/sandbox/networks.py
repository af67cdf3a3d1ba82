"""A network of its own for each sandbox with network: its DNS names no other sandbox.

Docker 20.10's embedded DNS (127.0.0.11, which a sandbox can query directly whatever
its resolv.conf says) answers the name and 12-hex short ID of every container on a
user-defined network. On one shared network a sandbox resolved all the others. So each
sandbox with network gets a bridge network of its own, made before its container and
removed after it, and the DNS of a network answers only for its one container:

- the network is `<container>-net` (`network_name`), labelled KIND_NETWORK and with its
  container's name, so the janitor finds one whose container is gone;
- its bridge is `gqsb<slot>` and its subnet the /28 at index `slot` of
  GRADERQ_SANDBOX_SUBNETS, `slot` being the sandbox's UID slot (identities.py): unique
  among the sandboxes running on the machine, so the names and ranges never collide,
  and Docker's own address pools (about 30 networks) are never used up;
- the perimeter (perimeter.py) matches every such bridge with the wildcard `gqsb+`.

A network left by a dead process (same slot, so same bridge and subnet) makes the new
one fail: it is removed (its container is gone: its slot was free) and the new one made.

docker-py is imported on first use: a producer that imports graderq must not load docker.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from graderq.addresses import PREFIX_LENGTH, parse_subnets
from graderq.sandbox.backend import Network
from graderq.sandbox.spec import LABEL, owner_labels

if TYPE_CHECKING:
    import docker

log = logging.getLogger("graderq.sandbox")

KIND_NETWORK = "sandbox-network"
"""The `graderq` label of a sandbox's own network."""
CONTAINER_LABEL = f"{LABEL}.container"
SLOT_LABEL = f"{LABEL}.slot"
BRIDGE_PREFIX = "gqsb"
BRIDGE_MATCH = f"{BRIDGE_PREFIX}+"
"""iptables' wildcard for every sandbox bridge."""


def network_name(container_name: str) -> str:
    return f"{container_name}-net"


def bridge_name(slot: int) -> str:
    return f"{BRIDGE_PREFIX}{slot}"


def subnet_of(subnets: ipaddress.IPv4Network, slot: int) -> ipaddress.IPv4Network:
    size = 2 ** (32 - PREFIX_LENGTH)
    return ipaddress.IPv4Network((int(subnets.network_address) + slot * size, PREFIX_LENGTH))


def create_options(name: str, slot: int, subnets: ipaddress.IPv4Network) -> dict[str, Any]:
    """docker-py create_network's arguments for the network of the sandbox `name`."""
    import docker.types

    subnet = subnet_of(subnets, slot)
    pool = docker.types.IPAMPool(subnet=str(subnet), gateway=str(subnet.network_address + 1))
    return {
        "driver": "bridge",
        "options": {
            "com.docker.network.bridge.name": bridge_name(slot),
            "com.docker.network.bridge.enable_icc": "false",
        },
        "ipam": docker.types.IPAMConfig(pool_configs=[pool]),
        "labels": owner_labels(KIND_NETWORK, **{CONTAINER_LABEL: name, SLOT_LABEL: str(slot)}),
        "check_duplicate": True,
    }


class Networks:
    """The sandbox networks of the daemon that `api` reaches (docker-py is loaded: the
    backend that makes this has its client)."""

    def __init__(self, api: Callable[[], docker.APIClient], subnets: str, slots: int) -> None:
        self._api = api
        self.subnets = parse_subnets(subnets, slots)

    def make(self, container_name: str, slot: int) -> str:
        """The network of the sandbox `container_name` on UID slot `slot`; its name."""
        import docker.errors

        from graderq.sandbox.docker_api import engine_errors

        name = network_name(container_name)
        options = create_options(container_name, slot, self.subnets)
        with engine_errors(f"cannot create the sandbox network {name!r}"):
            try:
                self._api().create_network(name, **options)
            except docker.errors.APIError:
                if not self._clear_slot(slot):
                    raise
                self._api().create_network(name, **options)
        return name

    def _clear_slot(self, slot: int) -> bool:
        """Remove networks left on `slot` by a dead process; whether there were any."""
        labels = [f"{LABEL}={KIND_NETWORK}", f"{SLOT_LABEL}={slot}"]
        found = self._api().networks(filters={"label": labels})
        for network in found:
            log.info("removing the sandbox network %s left on slot %d", network["Name"], slot)
            self.remove(network["Name"])
        return bool(found)

    def remove(self, name: str) -> None:
        """Remove a sandbox network; gone is fine."""
        import docker.errors

        from graderq.sandbox.docker_api import engine_errors

        action = f"cannot remove the sandbox network {name!r}"
        with engine_errors(action), suppress(docker.errors.NotFound):
            self._api().remove_network(name)

    def listed(self) -> list[Network]:
        """Every sandbox network on the daemon."""
        from graderq.sandbox.docker_api import engine_errors

        with engine_errors("cannot list the sandbox networks"):
            found = self._api().networks(filters={"label": f"{LABEL}={KIND_NETWORK}"})
        return [Network(n["Name"], _labels(n)) for n in found]


def _labels(network: Mapping[str, Any]) -> dict[str, str]:
    return dict(network.get("Labels") or {})
