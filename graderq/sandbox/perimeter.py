"""The network perimeter of sandboxes with network: only what the operator allows.

Each sandbox with network has a network of its own, its bridge named `gqsb<slot>`
(networks.py). Docker forwards their traffic anywhere (`FORWARD -i gqsb5 ! -o gqsb5
ACCEPT`): the LAN, the broker's host, a cloud's metadata address. graderq puts a chain
of its own in front of Docker's rules, in DOCKER-USER (Docker's place for the operator's
rules, which it never flushes), for every sandbox bridge at once (iptables' `+`):

    -A DOCKER-USER -i gqsb+ -j GRADERQ-SANDBOX
    -A GRADERQ-SANDBOX -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
    -A GRADERQ-SANDBOX -d CIDR [-p tcp|udp --dport PORT] -j RETURN   (each allowed entry)
    -A GRADERQ-SANDBOX -j DROP

and INPUT drops every new connection from the bridges to the host itself (as
workers/provision.sh does), so an allowed CIDR never opens the host. Another sandbox is
off a sandbox's own network, so it is dropped too (and Docker isolates bridges from
each other). The chain is rewritten whole and atomically (iptables-restore --noflush)
once per worker process, so it is idempotent and always the worker's
GRADERQ_SANDBOX_ALLOW. IPv4 only: the sandbox networks have no IPv6.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

from graderq.addresses import Allowed
from graderq.errors import DockerError

CHAIN = "GRADERQ-SANDBOX"
HOOK = "DOCKER-USER"


def chain_rules(allowed: Sequence[Allowed]) -> list[list[str]]:
    """The rules of the chain, in order, as iptables arguments after `-A CHAIN`."""
    rules = [["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "RETURN"]]
    for entry in allowed:
        if entry.port is None:
            rules.append(["-d", str(entry.network), "-j", "RETURN"])
        else:
            for protocol in ("tcp", "udp"):
                port = ["-p", protocol, "--dport", str(entry.port)]
                rules.append(["-d", str(entry.network), *port, "-j", "RETURN"])
    rules.append(["-j", "DROP"])
    return rules


def restore_input(allowed: Sequence[Allowed]) -> str:
    """iptables-restore input that (re)writes the chain whole."""
    lines = ["*filter", f":{CHAIN} - [0:0]"]
    lines += [" ".join(["-A", CHAIN, *rule]) for rule in chain_rules(allowed)]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def hooks(bridge: str) -> list[tuple[str, list[str]]]:
    """(chain, rule) pairs that send the bridge's traffic through graderq's rules."""
    return [
        (HOOK, ["-i", bridge, "-j", CHAIN]),
        ("INPUT", ["-i", bridge, "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP"]),
    ]


def install(allowed: Sequence[Allowed], bridge: str) -> None:
    """Write the chain and hook it in, once; fail closed with a clear error."""
    iptables, restore = shutil.which("iptables"), shutil.which("iptables-restore")
    if iptables is None or restore is None:
        raise DockerError(
            "cannot close the sandbox network's perimeter: iptables is not installed; "
            "a profile with network needs the worker on its Docker host, as root"
        )
    _run([restore, "--noflush", "--wait"], restore_input(allowed))
    for chain, rule in hooks(bridge):
        check = subprocess.run(
            [iptables, "--wait", "-C", chain, *rule], capture_output=True, check=False
        )
        if check.returncode != 0:
            _run([iptables, "--wait", "-I", chain, "1", *rule])


def _run(command: list[str], stdin: str | None = None) -> None:
    try:
        done = subprocess.run(
            command, input=stdin, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DockerError(f"cannot close the sandbox network's perimeter: {exc}") from exc
    if done.returncode != 0:
        raise DockerError(
            f"cannot close the sandbox network's perimeter: {' '.join(command[:2])} failed: "
            f"{done.stderr.strip()}; the worker must run as root on its Docker host"
        )
