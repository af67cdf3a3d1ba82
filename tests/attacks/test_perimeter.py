"""The perimeter of profiles with network: nothing off the sandbox network unless the
operator allows it (GRADERQ_SANDBOX_ALLOW), and then exactly that.

The "LAN" here is a test host of this test's own: a network namespace with a private
address (10.213.0.2) behind a veth pair, reached through the host's routing like any
other machine. No traffic goes to any address this test did not create; what the chain
drops beyond it (private ranges, link-local and the metadata address) is read from the
installed rules, never probed.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

import graderq
from graderq.addresses import parse_allow
from graderq.sandbox import perimeter
from graderq.sandbox.networks import BRIDGE_MATCH
from tests.attacks.support import PROBES, assert_still_works, attack_profiles, fields, probe
from tests.integration.support import make_settings

pytestmark = pytest.mark.timeout(120)

HOST_SIDE, TEST_HOST = "10.213.0.1", "10.213.0.2"
ALLOWED_PORT, OTHER_PORT = 3142, 8080
PORTS = (str(ALLOWED_PORT), str(OTHER_PORT))
LISTEN = """
import socket, sys, threading
def serve(port):
    server = socket.create_server(("0.0.0.0", port))
    while True:
        server.accept()[0].close()
for port in sys.argv[1:]:
    threading.Thread(target=serve, args=(int(port),)).start()
print("ready", flush=True)
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def test_host() -> Iterator[str]:
    """A network namespace at 10.213.0.2 listening on ports 3142 and 8080."""
    suffix = os.getpid() % 100000
    namespace, outside, inside = f"gqiso-{suffix}", f"gqh{suffix}", f"gqn{suffix}"
    _ip("netns", "add", namespace)
    server = None
    try:
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", namespace)
        _ip("addr", "add", f"{HOST_SIDE}/30", "dev", outside)
        _ip("link", "set", outside, "up")
        _ip("-n", namespace, "addr", "add", f"{TEST_HOST}/30", "dev", inside)
        _ip("-n", namespace, "link", "set", inside, "up")
        _ip("-n", namespace, "link", "set", "lo", "up")
        _ip("-n", namespace, "route", "add", "default", "via", HOST_SIDE)
        server = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, "-c", LISTEN, *PORTS],
            stdout=subprocess.PIPE,
        )
        assert server.stdout is not None and server.stdout.readline() == b"ready\n"
        yield TEST_HOST
    finally:
        if server is not None:
            server.kill()
            server.wait()
        subprocess.run(["ip", "link", "del", outside], capture_output=True, check=False)
        _ip("netns", "del", namespace)


@pytest.fixture
def closed_after() -> Iterator[None]:
    """Put the default, closed perimeter back after a test that opened it."""
    yield
    perimeter.install((), BRIDGE_MATCH)


def connect(engine: graderq.Engine, *targets: str) -> dict[str, str]:
    command = shlex.join(["python3", "connect.py", *targets])
    result = engine.run("networked", command, files=[probe("connect.py")])
    if result["exit_code"] != 0:
        pytest.fail(f"the probe failed: {result}")
    return fields(result["stdout"])


def installed(chain: str) -> list[str]:
    listing = subprocess.run(["iptables", "-S", chain], capture_output=True, text=True, check=True)
    return listing.stdout.splitlines()


def test_by_default_a_networked_sandbox_reaches_nothing_off_its_network(
    engine: graderq.Engine, test_host: str
) -> None:
    """Before, Docker forwarded a networked sandbox's traffic to any host (the LAN, the
    broker's host, a cloud's metadata address)."""
    from_host = subprocess.run(  # the test host answers the host itself
        [sys.executable, str(PROBES / "connect.py"), f"{test_host}:{ALLOWED_PORT}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert from_host.stdout.split() == [f"{test_host}:{ALLOWED_PORT}", "connected"]

    outcomes = connect(engine, f"{test_host}:{ALLOWED_PORT}", f"{test_host}:{OTHER_PORT}")

    assert outcomes == {
        f"{test_host}:{ALLOWED_PORT}": "timeout",
        f"{test_host}:{OTHER_PORT}": "timeout",
    }
    rules = installed(perimeter.CHAIN)
    assert rules == [
        f"-N {perimeter.CHAIN}",
        f"-A {perimeter.CHAIN} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
        f"-A {perimeter.CHAIN} -j DROP",
    ], "anything but replies is dropped: private ranges, link-local, the metadata address"
    assert f"-A DOCKER-USER -i {BRIDGE_MATCH} -j {perimeter.CHAIN}" in installed("DOCKER-USER")
    assert_still_works(engine)


def test_an_allowed_cidr_and_port_is_reached_and_nothing_else(
    test_host: str, closed_after: None
) -> None:
    settings = make_settings(sandbox_allow=f"{test_host}/32:{ALLOWED_PORT}")
    engine = graderq.Engine(profiles=attack_profiles(), settings=settings)
    started = time.monotonic()
    outcomes = connect(
        engine,
        f"{test_host}:{ALLOWED_PORT}",
        f"{test_host}:{OTHER_PORT}",
        f"{HOST_SIDE}:{ALLOWED_PORT}",  # the host's own address on the link: INPUT drops it
    )

    assert outcomes == {
        f"{test_host}:{ALLOWED_PORT}": "connected",
        f"{test_host}:{OTHER_PORT}": "timeout",
        f"{HOST_SIDE}:{ALLOWED_PORT}": "timeout",
    }
    assert time.monotonic() - started < 30
    rules = installed(perimeter.CHAIN)
    for protocol in ("tcp", "udp"):
        allow = f"-d {test_host}/32 -p {protocol} -m {protocol} --dport {ALLOWED_PORT} -j RETURN"
        assert f"-A {perimeter.CHAIN} {allow}" in rules
    assert rules[-1] == f"-A {perimeter.CHAIN} -j DROP"
    assert_still_works(engine)


def test_installing_the_perimeter_again_changes_nothing(closed_after: None) -> None:
    """Every worker installs it before its first networked sandbox: idempotent, one hook each."""
    for _ in range(2):
        perimeter.install(parse_allow("192.0.2.0/24"), BRIDGE_MATCH)
    hook = f"-A DOCKER-USER -i {BRIDGE_MATCH} -j {perimeter.CHAIN}"
    assert installed("DOCKER-USER").count(hook) == 1
    drop = f"-A INPUT -i {BRIDGE_MATCH} -m conntrack --ctstate NEW -j DROP"
    assert installed("INPUT").count(drop) == 1
    assert installed(perimeter.CHAIN).count(f"-A {perimeter.CHAIN} -d 192.0.2.0/24 -j RETURN") == 1
