"""Any image works through the queue: a pinned workdir's runs and a tenant's grading
on stock-like images (tests/integration/stock.py), for each kind of image and a
profile user of root, a named user or none."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import docker
import pytest

from graderq import client
from graderq.tasks import run_sandbox
from tests.integration.stock import KINDS, USERS, build_stock_images, stock_profiles

from .conftest import Worker

pytestmark = pytest.mark.timeout(180)

CASES = [(kind, user) for kind in KINDS for user in USERS]
IDS = [f"{kind}-{user}" for kind, user in CASES]
ECHO_C = r"""
#include <stdio.h>
int main(void) { long a, b; if (scanf("%ld %ld", &a, &b) != 2) return 2;
                 printf("%ld\n", a + b); return 0; }
"""


def profiles_toml(path: Path) -> Path:
    """The stock-like profiles as a profiles file for a worker."""
    lines = []
    for name, options in stock_profiles().items():
        lines.append(f'[profiles."{name}"]')
        lines += [f'{key} = "{value}"' for key, value in options.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def worker(start_worker: Callable[..., Worker], tmp_path_factory: pytest.TempPathFactory) -> Worker:
    engine = docker.from_env()
    try:
        build_stock_images(engine)
    finally:
        engine.close()
    profiles = profiles_toml(tmp_path_factory.mktemp("stock") / "profiles.toml")
    return start_worker("stock", concurrency=2, GRADERQ_PROFILES_FILE=str(profiles))


@pytest.mark.parametrize(("kind", "user"), CASES, ids=IDS)
def test_a_pinned_workdir_compiles_then_runs(worker: Worker, kind: str, user: str) -> None:
    profile = f"gcc-{kind}-{user}"
    with client.working_directory() as workdir:
        compiled = run_sandbox.delay(
            profile,
            "gcc -o prog main.c && (umask 077; echo private > note)",
            files=[{"name": "main.c", "content": ECHO_C}],
            limits={"cputime": 10, "memory": 256},
            workdir=workdir,
        ).get(timeout=60)
        ran = run_sandbox.delay(profile, "./prog && cat note", stdin=b"2 3", workdir=workdir).get(
            timeout=60
        )

    assert compiled["exit_code"] == 0, compiled
    assert (ran["exit_code"], ran["stdout"]) == (0, b"5\nprivate\n"), ran


@pytest.mark.parametrize(("kind", "user"), CASES, ids=IDS)
def test_a_tenants_grading_is_accepted(worker: Worker, kind: str, user: str) -> None:
    profile = f"gcc-{kind}-{user}"
    report = client.grade(
        {"profile_name": profile, "command": "./main"},
        [{"stdin": "2 3", "expected": "5"}, {"stdin": "4 4", "expected": "8"}],
        {"profile_name": profile, "command": "gcc -O2 -o main main.c", "limits": {"cputime": 10}},
        files=[{"name": "main.c", "content": ECHO_C}],
        tenant="stock-course",
    ).get(timeout=120)

    assert report["verdict"] == "accepted", report
