"""Reaching the broker, the host or other sandboxes from a network-enabled profile.

Traffic goes only to this machine: loopback inside the sandbox (Docker's embedded DNS
at 127.0.0.11 too), the host's address on the sandbox's own bridge (its gateway), our
own listener on it, and another sandbox of ours.
"""

from __future__ import annotations

import ipaddress
import shlex
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import docker
import pytest

import graderq
from graderq.sandbox import DockerBackend
from graderq.sandbox.janitor import NETWORK_GRACE, sweep_networks
from graderq.settings import Settings, get_settings
from tests.attacks.support import assert_still_works, fields, probe

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def host_listener() -> Iterator[int]:
    """A TCP listener of this test process on every host address; yields its port."""
    with socket.create_server(("0.0.0.0", 0)) as server:
        yield server.getsockname()[1]


def connect(engine: graderq.Engine, *targets: str) -> dict[str, str]:
    """Connect from a networked sandbox to each host:port; target -> outcome. The host
    `gateway` is the sandbox's gateway: the host's address on the sandbox's own bridge."""
    command = shlex.join(["python3", "connect.py", *targets])
    result = engine.run("networked", command, files=[probe("connect.py")])
    if result["exit_code"] != 0:
        pytest.fail(f"the probe failed: {result}")
    outcomes = fields(result["stdout"])
    if "gateway" in outcomes:
        subnets = ipaddress.ip_network(get_settings().sandbox_subnets)
        assert ipaddress.ip_address(outcomes["gateway"]) in subnets, outcomes
    return outcomes


def test_the_broker_is_unreachable_from_a_networked_sandbox(engine: graderq.Engine) -> None:
    """Redis listens on the host's loopback only: neither the bridge gateway nor the
    sandbox's own loopback (its own network namespace) leads to it."""
    broker = urlsplit(Settings().broker_url)
    assert broker.hostname == "127.0.0.1", f"the test assumes a loopback broker: {broker}"
    port = broker.port or 6379
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass  # the broker is up: a refusal from the sandbox means something

    outcomes = connect(engine, f"gateway:{port}", f"127.0.0.1:{port}")

    # Dropped by the host's firewall (a timeout), or refused: never connected.
    assert outcomes[f"gateway:{port}"] in ("timeout", "ECONNREFUSED")
    assert outcomes[f"127.0.0.1:{port}"] == "ECONNREFUSED"
    assert_still_works(engine)


def test_host_services_are_unreachable_from_a_networked_sandbox(
    engine: graderq.Engine, host_listener: int
) -> None:
    outcomes = connect(engine, f"gateway:{host_listener}")
    assert_still_works(engine)

    assert outcomes[f"gateway:{host_listener}"] != "connected"


def test_networked_sandboxes_can_neither_resolve_nor_reach_each_other(
    engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
    """Two networked sandboxes at once. On one shared network Docker's embedded DNS
    answered the other's name and short ID with its address, through the resolver and
    at 127.0.0.11 directly; each now has a network of its own."""
    listen = shlex.join(["python3", "listen.py", "8000", "4", "ready"])
    with (
        engine.working_directory() as workdir,
        engine.create("networked", listen, files=[probe("listen.py")], workdir=workdir) as server,
        ThreadPoolExecutor(1) as pool,
    ):
        serving = pool.submit(engine.start, server)
        address = ""
        deadline = time.monotonic() + 10
        while not address and time.monotonic() < deadline:
            info = docker_client.api.inspect_container(server.container)
            networks = info["NetworkSettings"]["Networks"]
            address = next(iter(networks.values()), {}).get("IPAddress", "")
        name, short_id = info["Name"].lstrip("/"), server.container[:12]
        # The connecting sandbox waits (bounded) for the listener's readiness mark.
        wait = "for i in $(seq 200); do [ -e ready ] && break; sleep 0.05; done; "
        probes = [
            shlex.join(["python3", "resolve.py", name, short_id, "self"]),
            shlex.join(["python3", "connect.py", f"{address}:8000"]),
        ]
        result = engine.run(
            "networked",
            wait + "; ".join(probes),
            files=[probe("connect.py"), probe("resolve.py")],
            workdir=workdir,
        )
        outcomes = fields(result["stdout"])
        served = serving.result(timeout=20)
    if not address or not served["stdout"].startswith(b"listening\n"):
        pytest.fail(f"the listening sandbox (address {address!r}) did not listen: {served}")
    assert_still_works(engine)

    assert name in outcomes, result
    assert len(networks) == 1 and address not in (outcomes[name], outcomes[short_id])
    # Not known: the embedded DNS asked directly has no address for it (an empty answer,
    # at once: a one-label name is never forwarded out), and so the resolver has none.
    assert outcomes[name].split() == ["EAI_NODATA", "NOANSWER"], result
    assert outcomes[short_id].split() == ["EAI_NODATA", "NOANSWER"], result
    # The DNS that says no is there: it answers the sandbox's own name, both ways.
    through_resolver, direct = outcomes["self"].split()
    subnets = ipaddress.ip_network(get_settings().sandbox_subnets)
    assert through_resolver == direct and ipaddress.ip_address(direct) in subnets, result
    assert outcomes[f"{address}:8000"] != "connected"


def test_a_network_left_by_a_dead_process_is_swept_or_replaced(
    docker_client: docker.DockerClient,
) -> None:
    """A worker that dies between a sandbox's network and its container (or before it
    removes the network) leaves the network: the janitor removes it once its grace is
    over, and a new sandbox on the same slot (same bridge, same subnet) replaces it."""
    backend = DockerBackend.from_settings(get_settings())
    made = []
    try:
        identity = backend._identities.take("graderq-dead-sweep")
        made.append(backend._networks.make("graderq-dead-sweep", identity.slot))
        backend._identities.release("graderq-dead-sweep")
        assert sweep_networks(backend, time.time()) == 0  # young: its container may be coming
        assert sweep_networks(backend, time.time() + NETWORK_GRACE + 1) >= 1
        assert not docker_client.networks.list(names=made)

        identity = backend._identities.take("graderq-dead-left")
        made.append(backend._networks.make("graderq-dead-left", identity.slot))
        made.append(backend._networks.make("graderq-dead-next", identity.slot))
        backend._identities.release("graderq-dead-left")
        names = {network.name for network in docker_client.networks.list(names=made[1:])}
        assert names == {made[2]}
        bridge = docker_client.networks.get(made[2]).attrs["Options"]
        assert bridge["com.docker.network.bridge.name"] == f"gqsb{identity.slot}"
    finally:
        for name in made:
            backend.remove_network(name)
