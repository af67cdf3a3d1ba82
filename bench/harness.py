"""What the bench scripts share: one quantile, one interleaving loop, one table, and the
queue benchmarks' own worker on databases of their own.

Alternatives are measured side by side in one run, interleaved with the order rotating,
so that machine noise hits them alike; only their ratios are judged, never times.

A bench script has bench/ first on sys.path: no module here may be named like one that
a library imports.
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from graderq.queue.launcher import WorkerProcess, start_worker

T = TypeVar("T")


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0 <= q <= 1), interpolated between the closest ranks."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def rotated(items: Sequence[T], shift: int) -> list[T]:
    """`items` rotated left by `shift`."""
    shift %= len(items)
    return [*items[shift:], *items[:shift]]


def interleave(
    contenders: Mapping[str, Callable[[], T]], rounds: int, warmup: int = 0
) -> dict[str, list[T]]:
    """Call every contender once a round, the order rotating each round; return what
    each returned in the `rounds` rounds after the first `warmup` ones."""
    kept: dict[str, list[T]] = {name: [] for name in contenders}
    for index in range(warmup + rounds):
        for name in rotated(list(contenders), index):
            value = contenders[name]()
            if index >= warmup:
                kept[name].append(value)
    return kept


def ms(seconds: float) -> str:
    """Seconds as the tables print them: milliseconds, one decimal."""
    return f"{seconds * 1000:.1f}"


def summary(values: Sequence[float]) -> list[str]:
    """The cells `median ms, p90 ms` of a list of seconds."""
    return [ms(statistics.median(values)), ms(quantile(values, 0.9))]


def table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "") -> None:
    """Print `rows` under `header`: the first column left-aligned, the others right."""
    lines = [list(header), *(list(row) for row in rows)]
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    for first, *rest in lines:
        cells = [first.ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(rest, widths[1:], strict=True)]
        print(indent + "  ".join(cells).rstrip())


def use_databases(broker: str, results: str) -> None:
    """Point graderq at the benchmark's broker and result backend, flushed; refuse Redis
    databases or an AMQP queue that others use. Must precede importing graderq.queue.app."""
    if "graderq.queue.app" in sys.modules:
        raise RuntimeError("graderq.queue.app was imported before the benchmark's settings")
    os.environ["GRADERQ_BROKER_URL"] = broker
    os.environ["GRADERQ_RESULT_BACKEND"] = results
    import redis
    from amqp.exceptions import NotFound
    from kombu import Connection

    from graderq.queue.routing import DEFAULT_QUEUE

    for url in (broker, results):
        if url.startswith("redis://"):
            client = redis.Redis.from_url(url)
            db = client.connection_pool.connection_kwargs.get("db", 0)
            others = [c for c in client.client_list() if int(c["db"]) == db]
            if len(others) > 1:  # this client's own connection is one
                raise RuntimeError(
                    f"{len(others) - 1} other clients use {url}; give the benchmark "
                    "databases of its own"
                )
            client.flushdb()
    if broker.startswith("amqp://"):
        with Connection(broker) as connection:
            try:
                _, messages, consumers = connection.default_channel.queue_declare(
                    DEFAULT_QUEUE, passive=True
                )
            except NotFound:  # no such queue yet: nothing shared
                return
            if messages or consumers:
                raise RuntimeError(
                    f"queue {DEFAULT_QUEUE!r} on {broker} holds {messages} messages and has "
                    f"{consumers} consumers; use a vhost of the benchmark's own"
                )


@contextmanager
def worker(name: str, log: Path, concurrency: int = 2) -> Iterator[WorkerProcess]:
    """A `celery -A graderq worker` of the benchmark's own; stopped whatever happens."""
    process = start_worker(name, log, concurrency)
    try:
        yield process
    finally:
        process.stop()
