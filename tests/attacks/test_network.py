"""Reaching the broker, the host or other sandboxes from a network-enabled profile.

Traffic goes only to this machine: loopback inside the sandbox, the gateway address of
our Docker daemon's default bridge, our own listener on it, and another sandbox of ours.
"""

from __future__ import annotations

import fcntl
import ipaddress
import shlex
import socket
import struct
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import docker
import pytest

import graderq
from graderq.sandbox import DockerBackend
from graderq.sandbox.spec import SANDBOX_NETWORK
from graderq.settings import Settings, get_settings
from tests.attacks.support import assert_still_works, fields, probe

pytestmark = pytest.mark.timeout(60)


SIOCGIFADDR = 0x8915


@pytest.fixture
def gateway(docker_client: docker.DockerClient) -> str:
    """The host's address on the sandbox network's bridge (the sandboxes' gateway), read
    from the bridge interface itself."""
    DockerBackend.from_settings(get_settings()).ensure_network()
    bridge = docker_client.networks.get(SANDBOX_NETWORK).attrs
    interface = bridge["Options"]["com.docker.network.bridge.name"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("256s", interface.encode()[:15])
        address = socket.inet_ntoa(fcntl.ioctl(sock.fileno(), SIOCGIFADDR, request)[20:24])
    subnets = [ipaddress.ip_network(entry["Subnet"]) for entry in bridge["IPAM"]["Config"]]
    assert any(ipaddress.ip_address(address) in subnet for subnet in subnets), address
    return address


@pytest.fixture
def host_listener() -> Iterator[int]:
    """A TCP listener of this test process on every host address; yields its port."""
    with socket.create_server(("0.0.0.0", 0)) as server:
        yield server.getsockname()[1]


def connect(engine: graderq.Engine, *targets: str) -> dict[str, str]:
    """Connect from a networked sandbox to each host:port; target -> outcome."""
    command = shlex.join(["python3", "connect.py", *targets])
    result = engine.run("networked", command, files=[probe("connect.py")])
    if result["exit_code"] != 0:
        pytest.fail(f"the probe failed: {result}")
    return fields(result["stdout"])


def test_the_broker_is_unreachable_from_a_networked_sandbox(
    engine: graderq.Engine, gateway: str
) -> None:
    """Redis listens on the host's loopback only: neither the bridge gateway nor the
    sandbox's own loopback (its own network namespace) leads to it."""
    broker = urlsplit(Settings().broker_url)
    assert broker.hostname == "127.0.0.1", f"the test assumes a loopback broker: {broker}"
    port = broker.port or 6379
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass  # the broker is up: a refusal from the sandbox means something

    outcomes = connect(engine, f"{gateway}:{port}", f"127.0.0.1:{port}")

    # Dropped by the host's firewall (a timeout), or refused: never connected.
    assert outcomes[f"{gateway}:{port}"] in ("timeout", "ECONNREFUSED")
    assert outcomes[f"127.0.0.1:{port}"] == "ECONNREFUSED"
    assert_still_works(engine)


def test_host_services_are_unreachable_from_a_networked_sandbox(
    engine: graderq.Engine, gateway: str, host_listener: int
) -> None:
    outcomes = connect(engine, f"{gateway}:{host_listener}")
    assert_still_works(engine)

    assert outcomes[f"{gateway}:{host_listener}"] != "connected"


def test_networked_sandboxes_cannot_reach_each_other(
    engine: graderq.Engine, docker_client: docker.DockerClient
) -> None:
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
            address = networks.get(SANDBOX_NETWORK, {}).get("IPAddress", "")
        # The connecting sandbox waits (bounded) for the listener's readiness mark.
        wait = "for i in $(seq 200); do [ -e ready ] && break; sleep 0.05; done; "
        result = engine.run(
            "networked",
            wait + shlex.join(["python3", "connect.py", f"{address}:8000"]),
            files=[probe("connect.py")],
            workdir=workdir,
        )
        outcomes = fields(result["stdout"])
        served = serving.result(timeout=20)
    if not address or not served["stdout"].startswith(b"listening\n"):
        pytest.fail(f"the listening sandbox (address {address!r}) did not listen: {served}")
    assert_still_works(engine)

    assert outcomes[f"{address}:8000"] != "connected"
