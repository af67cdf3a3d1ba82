"""A worker's Prometheus metrics, served on GRADERQ_METRICS_PORT by its main process.

Pool processes record into files of prometheus-client's multiprocess mode (the main
process sets PROMETHEUS_MULTIPROC_DIR before this module is imported, see
graderq.queue.worker.metrics_dir). The main process serves their sum, and reads at each
scrape what it knows itself: the sandboxes running, each tenant's queue depth, the disk
dir's free bytes.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

SANDBOX_TASKS = frozenset({"graderq.run_sandbox", "graderq.compile_and_run", "graderq.run_test"})
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)

RUNS = Counter(
    "graderq_runs_total",
    "Sandbox runs by profile, verdict (a test's; 'none' outside gradings) and outcome.",
    ["profile", "verdict", "outcome"],
)
GRADINGS = Counter(
    "graderq_gradings_total",
    "Gradings by the profile of their runs, and verdict.",
    ["profile", "verdict"],
)
QUEUED_TO_STARTED = Histogram(
    "graderq_queued_to_started_seconds",
    "Seconds from a task's submission to its start on a worker.",
    ["task"],
    buckets=LATENCY_BUCKETS,
)
STARTED_TO_FINISHED = Histogram(
    "graderq_started_to_finished_seconds",
    "Seconds from a task's start to its end.",
    ["task"],
    buckets=LATENCY_BUCKETS,
)
REDELIVERIES = Counter(
    "graderq_redeliveries_total", "Starts of a task after its first (its worker died)."
)


def observe(
    task: str,
    arguments: Mapping[str, Any],
    value: Any,
    started: float,
    now: float,
    sent: float | None,
) -> None:
    """Record one finished task of a pool process."""
    STARTED_TO_FINISHED.labels(task).observe(now - started)
    if sent is not None:
        QUEUED_TO_STARTED.labels(task).observe(max(started - sent, 0.0))
    if not isinstance(value, Mapping):
        return
    if task == "graderq.run_sandbox":
        count_run(arguments.get("profile_name"), value)
    elif task == "graderq.run_test":  # a test's report row
        step = arguments.get("step") or {}
        count_run(step.get("profile_name"), value, str(value.get("verdict")))
    elif task == "graderq.judge":
        GRADINGS.labels(str(arguments.get("profile")), str(value.get("verdict"))).inc()


def count_run(profile: Any, result: Mapping[str, Any], verdict: str = "none") -> None:
    """Count one sandbox run (a compile step too: compile_and_run counts its own, as
    its end is the chord's, not a return)."""
    RUNS.labels(str(profile), verdict, outcome(result)).inc()


def outcome(result: Mapping[str, Any]) -> str:
    """One word for how a run ended."""
    if result.get("output_truncated"):
        return "output_limit"
    if result.get("oom_killed"):
        return "memory_limit"
    if result.get("timeout"):
        return "time_limit"
    return "exit_0" if result.get("exit_code") == 0 else "exit_nonzero"


class WorkerCollector:
    """What the main process reads at each scrape."""

    def __init__(self, app: Any, disk_dir: str) -> None:
        self.app = app
        self.disk_dir = disk_dir

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from celery.worker import state

        from graderq.queue import records
        from graderq.queue.tenants import DEFAULT_TENANT, queued, tenant_queue

        running = GaugeMetricFamily("graderq_sandboxes_running", "Sandboxes running now.")
        sandboxes = [r for r in state.active_requests if r.name in SANDBOX_TASKS]
        running.add_metric([], len(sandboxes))
        yield running
        depth = GaugeMetricFamily(
            "graderq_queue_depth", "Tasks waiting, by tenant.", labels=["tenant"]
        )
        for tenant in sorted({DEFAULT_TENANT, *records.tenants()}):
            depth.add_metric([tenant], queued(self.app, tenant_queue(tenant)))
        yield depth
        free = GaugeMetricFamily("graderq_disk_free_bytes", "Free bytes in GRADERQ_DISK_DIR.")
        path = self.disk_dir if os.path.exists(self.disk_dir) else os.path.dirname(self.disk_dir)
        free.add_metric([], shutil.disk_usage(path).free)
        yield free


def serve(port: int, app: Any, disk_dir: str) -> None:
    """Serve the metrics on `port` (all interfaces: scrapers are on other hosts)."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(WorkerCollector(app, disk_dir))
    start_http_server(port, registry=registry)
