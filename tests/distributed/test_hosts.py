"""Two real Docker daemons ("hosts"), a worker on each: pinning and spreading."""

from __future__ import annotations

from collections.abc import Callable

import docker
import pytest

from graderq import client
from graderq.queue.app import app
from graderq.sandbox import DockerBackend
from graderq.settings import get_settings
from tests.integration import support

from .conftest import Worker, wait_until

ADD = r"""
#include <stdio.h>
int main(void) { long a, b; if (scanf("%ld %ld", &a, &b) != 2) return 3;
                 printf("%ld\n", a + b); return 0; }
"""


@pytest.fixture(scope="module")
def workers(start_worker: Callable[..., Worker], second_docker: str) -> tuple[Worker, Worker]:
    first = start_worker("host1", concurrency=2)
    second = start_worker("host2", concurrency=2, GRADERQ_DOCKER_URL=second_docker)
    return first, second


def volume_exists(docker_url: str | None, name: str) -> bool:
    client = docker.DockerClient(base_url=docker_url or "unix:///var/run/docker.sock")
    try:
        return support.volume_exists(client, name)
    finally:
        client.close()


def test_the_two_daemons_are_two_nodes(second_docker: str) -> None:
    assert (
        DockerBackend.from_settings(get_settings()).node_id()
        != DockerBackend.from_settings(get_settings(), second_docker).node_id()
    )
    assert (
        DockerBackend.from_settings(get_settings()).node_id()
        == DockerBackend.from_settings(get_settings()).node_id()
    )


def test_workdir_runs_are_pinned_to_the_host_that_holds_it(
    workers: tuple[Worker, Worker], second_docker: str
) -> None:
    urls = {
        DockerBackend.from_settings(get_settings()).node_id(): None,
        DockerBackend.from_settings(get_settings(), second_docker).node_id(): second_docker,
    }
    with client.working_directory() as workdir:
        host_url = urls[workdir.node]
        other_url = second_docker if host_url is None else None
        assert volume_exists(host_url, workdir.volume)
        assert not volume_exists(other_url, workdir.volume)
        compiled = client.run(
            "gcc_compile",
            "gcc -O2 -o add add.c",
            files=[{"name": "add.c", "content": ADD}],
            workdir=workdir,
            limits={"cputime": 5, "realtime": 10, "memory": 256},
            timeout=60,
        )
        assert compiled["exit_code"] == 0, compiled["stderr"]
        pending = [
            client.submit("gcc_run", "./add", stdin=f"{i} {i * 1000}", workdir=workdir)
            for i in range(20)
        ]
        results = [client.wait(result, workdir, timeout=60) for result in pending]
    assert [r["stdout"] for r in results] == [f"{i * 1001}\n".encode() for i in range(20)]
    assert all(r["exit_code"] == 0 for r in results)
    wait_until(lambda: not volume_exists(host_url, workdir.volume), 30, "the workdir's removal")


def test_tasks_without_workdir_spread_over_both_hosts(workers: tuple[Worker, Worker]) -> None:
    inspector = app.control.inspect(destination=[w.hostname for w in workers], timeout=5)
    before = {name: stats.get("total", {}) for name, stats in (inspector.stats() or {}).items()}
    pending = [client.submit("python", "sleep 0.3") for _ in range(12)]
    assert all(r.get(timeout=60)["exit_code"] == 0 for r in pending)
    after = inspector.stats() or {}
    ran = {
        worker.hostname: after[worker.hostname]["total"].get("graderq.run_sandbox", 0)
        - before.get(worker.hostname, {}).get("graderq.run_sandbox", 0)
        for worker in workers
    }
    assert sum(ran.values()) == 12
    assert all(count > 0 for count in ran.values()), ran


def test_compile_once_run_many_on_one_host(workers: tuple[Worker, Worker]) -> None:
    pending = client.compile_and_run(
        {
            "profile_name": "gcc_compile",
            "command": "gcc -O2 -o add add.c",
            "limits": {"cputime": 5, "realtime": 10, "memory": 256, "disk": 32},
        },
        [{"profile_name": "gcc_run", "command": "./add", "stdin": f"{i} 1"} for i in range(8)]
        + [{"profile_name": "gcc_run", "command": "df -m . | tail -1"}],
        files=[{"name": "add.c", "content": ADD}],
    )
    outcome = pending.get(timeout=90)
    assert outcome["compiled"] is True
    *sums, disk = [r["stdout"] for r in outcome["runs"]]
    assert sums == [f"{i + 1}\n".encode() for i in range(8)]
    assert 28 <= int(disk.split()[1]) <= 32  # the compile step's disk limit sized the workdir


def test_a_failed_compile_skips_the_runs(workers: tuple[Worker, Worker]) -> None:
    outcome = client.compile_and_run(
        {"profile_name": "gcc_compile", "command": "gcc -o add add.c"},
        [{"profile_name": "gcc_run", "command": "./add"}] * 3,
        files=[{"name": "add.c", "content": "int main( {"}],
    ).get(timeout=60)
    assert outcome["compiled"] is False
    assert outcome["compile"]["exit_code"] != 0 and b"error" in outcome["compile"]["stderr"]
    assert outcome["runs"] == [] and outcome["skipped"] == 3
    assert "3 run steps skipped" in outcome["error"]
