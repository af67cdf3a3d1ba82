"""Runtimes per profile on a daemon of the test's own that knows gVisor (runsc).

The daemon runs in its own network namespace (as tests/distributed's second daemon);
runsc is registered twice: `runsc` with --network=none (what a sandbox without network
needs) and `runsc-net` without it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

import graderq
from graderq.errors import ProfileError
from tests.integration.support import PYTHON_IMAGE, make_settings

RUNSC = shutil.which("runsc")
ROOT = Path("/var/lib/graderq-test-runsc")
SOCKET = "/run/graderq-test-runsc.sock"
pytestmark = pytest.mark.skipif(RUNSC is None, reason="runsc (gVisor) is not installed")


@pytest.fixture(scope="module")
def runsc_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("runsc")
    config = tmp / "daemon.json"
    config.write_text(
        json.dumps(
            {
                "runtimes": {
                    "runsc": {"path": RUNSC, "runtimeArgs": ["--network=none"]},
                    "runsc-net": {"path": RUNSC},
                }
            }
        )
    )
    command = ["unshare", "--net", "dockerd", "--config-file", str(config)]
    command += ["--data-root", str(ROOT), "--exec-root", "/run/graderq-test-runsc-exec"]
    command += ["--pidfile", "/run/graderq-test-runsc.pid", "-H", f"unix://{SOCKET}"]
    command += ["--bridge", "none", "--iptables=false"]
    log = (tmp / "dockerd.log").open("ab")
    daemon = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
    url = f"unix://{SOCKET}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert daemon.poll() is None, (tmp / "dockerd.log").read_text()[-2000:]
            try:
                client = docker.APIClient(base_url=url, timeout=120)
                client.ping()
                break
            except docker.errors.DockerException:
                assert time.monotonic() < deadline, "the runsc test daemon never answered"
                time.sleep(0.5)
        if not client.images(name=PYTHON_IMAGE):
            save = subprocess.Popen(["docker", "save", PYTHON_IMAGE], stdout=subprocess.PIPE)
            subprocess.run(["docker", "-H", url, "load", "-q"], stdin=save.stdout, check=True)
            assert save.wait() == 0
        client.close()
        yield url
    finally:
        daemon.terminate()
        daemon.wait(30)


def engine_on(url: str, **profile: object) -> graderq.Engine:
    settings = make_settings(docker_url=url)
    options = {"docker_image": PYTHON_IMAGE, "user": "sandbox"} | profile
    return graderq.Engine(profiles={"p": options}, settings=settings)


def test_gvisor_runs_a_sandbox_and_keeps_a_read_only_root_read_only(runsc_daemon: str) -> None:
    engine = engine_on(runsc_daemon, runtime="runsc", read_only=True)
    result = engine.run(
        "p",
        "dmesg | head -1; echo hi; touch /tmp/x 2>&1 || echo tmp-refused",
        limits={"processes": None},
    )
    assert result["exit_code"] == 0, result
    assert b"gVisor" in result["stdout"], result  # really in the sandbox kernel
    assert b"hi\n" in result["stdout"] and b"tmp-refused" in result["stdout"], result


def test_gvisor_refuses_a_processes_limit_and_a_missing_network_flag(runsc_daemon: str) -> None:
    api = docker.APIClient(base_url=runsc_daemon)
    before = len(api.containers(all=True))
    with pytest.raises(ProfileError, match="does not enforce the processes limit"):
        engine_on(runsc_daemon, runtime="runsc").run("p", "true")
    with pytest.raises(ProfileError, match="--network=none"):
        engine_on(runsc_daemon, runtime="runsc-net").run("p", "true", limits={"processes": None})
    assert len(api.containers(all=True)) == before  # refused before anything was made


def test_an_unknown_runtime_is_refused_and_the_default_comes_from_settings(
    runsc_daemon: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ProfileError, match=r"no runtime 'kata' \(it has: .*runsc"):
        engine_on(runsc_daemon, runtime="kata").run("p", "true")
    settings = make_settings(docker_url=runsc_daemon, default_runtime="runsc")
    engine = graderq.Engine(profiles={"p": {"docker_image": PYTHON_IMAGE}}, settings=settings)
    result = engine.run("p", "dmesg | head -1", limits={"processes": None})
    assert b"gVisor" in result["stdout"], result
