"""``landsync bench reconcile``: decisions/s with a province's registry loaded, vs raw Kafka.

It runs on a stack of its own (``.landsync-bench``, ports 26xxx), so no user data is touched and
each run starts from an empty ledger; the registry loaded there is kept between runs.

The ceiling, measured in the same run on the same broker: a bare aiokafka consumer reading the
same submitted messages and a producer (configured as reconcile's) writing each one back out,
acknowledged. Reconcile's figure is the span between its first and its last decision, so the
consumer group's start-up is not counted as decision time.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rich.console import Console

from shared.bench.intake import through_intake
from shared.bench.stack import payload, prepared, scratch_topic
from shared.db.connection import connected
from shared.kafka.security import client_options
from shared.settings import Settings
from shared.topics import Topic


@dataclass(frozen=True)
class ReconcileResult:
    """Throughputs in records per second."""

    records: int
    residents: int
    certificates: int
    raw_ceiling: float
    decided: float | None  # first to last decision; None: all decided at one instant
    wall: float  # reconcile started to all decided, start-up included

    @property
    def ratio(self) -> float | None:
        """Reconcile's sustained rate ÷ the raw ceiling."""
        return None if self.decided is None else self.decided / self.raw_ceiling


async def end_offsets(settings: Settings) -> dict[TopicPartition, int]:
    """Where the submitted topic ends now: this run's messages come after."""
    topic = settings.topics.name(Topic.SUBMITTED)
    partitions = [TopicPartition(topic, p) for p in range(settings.topic_partitions)]
    async with AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap, enable_auto_commit=False, **client_options(settings)
    ) as consumer:
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
    return ends


async def raw_ceiling(settings: Settings, since: dict[TopicPartition, int]) -> float:
    """Records/s of a bare consume + produce of the submitted messages after ``since``."""
    async with scratch_topic(settings, "landsync.bench.reconcile") as scratch:
        options = client_options(settings)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.bootstrap, enable_auto_commit=False, **options
        )
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap, enable_idempotence=True, acks="all",
            linger_ms=5, max_batch_size=1024 * 1024, **options,
        )  # fmt: skip
        async with consumer, producer:
            consumer.assign(list(since))
            ends = await consumer.end_offsets(list(since))
            for tp, offset in since.items():
                consumer.seek(tp, offset)
            count = sum(ends[tp] - since[tp] for tp in since)
            started = time.perf_counter()
            seen, futures = 0, []
            while seen < count:
                fetched = await consumer.getmany(timeout_ms=500, max_records=500)
                for tp, records in fetched.items():
                    for r in records:
                        if r.offset < ends[tp]:
                            futures.append(await producer.send(scratch, r.value, key=r.key))
                            seen += 1
            await asyncio.gather(*futures)
            elapsed = time.perf_counter() - started
    return seen / elapsed


async def _decided(settings: Settings, count: int, timeout: float = 900) -> tuple[float, float]:
    async with connected(settings.dsn) as conn:
        started = time.perf_counter()
        while (
            await conn.fetchval("SELECT count(*) FROM records WHERE decision <> 'received'") < count
        ):
            if time.perf_counter() - started > timeout:
                raise TimeoutError("reconcile did not decide every record in time")
            await asyncio.sleep(0.2)
        wall = time.perf_counter() - started
        span = await conn.fetchval(
            "SELECT extract(epoch FROM max(decided_at) - min(decided_at)) FROM records"
        )
    return float(span), wall


def run(data: Path, count: int, console: Console) -> ReconcileResult:
    """Prepare the bench stack, submit the records, measure the ceiling, then reconcile."""
    settings, stack, (residents, certificates) = prepared(data, console)
    stack.stop_service("reconcile")
    lines = payload(data, count)
    since = asyncio.run(end_offsets(settings))
    console.print(f"Submitting {len(lines):,} records through intake (reconcile paused)")
    asyncio.run(through_intake(settings, lines, chunk=5_000, concurrency=2))
    ceiling = asyncio.run(raw_ceiling(settings, since))
    stack.start_service("reconcile")
    span, wall = asyncio.run(_decided(settings, len(lines)))
    # A run small enough for one batch is decided in one transaction, at one instant: no span.
    decided = len(lines) / span if span > 0 else None
    return ReconcileResult(len(lines), residents, certificates, ceiling, decided, len(lines) / wall)
