"""The bare Docker floor the benchmarks hold graderq against: docker-py's low-level
create/start/wait/remove, nothing attached, of the very container graderq creates for
a run (spec.run_spec, spec.create_body). No sandbox can beat it.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import docker

import graderq
from graderq.sandbox.spec import create_body, run_spec


def graderq_body(engine: graderq.Engine, profile: str, command: str) -> dict[str, Any]:
    """The create body Engine.create sends for `engine.run(profile, command)`."""
    return create_body(run_spec(engine.profile(profile), command, engine.limits(None)))


def bare_run(api: docker.APIClient, body: dict[str, Any]) -> float:
    """Create, start, wait for and remove a container of `body`; return the seconds it
    took (raise unless it exited 0)."""
    name = f"graderq-bench-{uuid.uuid4().hex[:16]}"
    started = time.perf_counter()
    container = api.create_container_from_config(body, name=name)["Id"]
    try:
        api.start(container)
        status = api.wait(container)["StatusCode"]
    finally:  # v=True: the anonymous /sandbox volume goes too, as in graderq
        api.remove_container(container, v=True, force=True)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"{body['Cmd']} exited {status}")
    return elapsed
