"""``landsync bench latency``: how long a record waits from intake's 202 to its decision, at a rate.

Records are posted in small arrays on a fixed clock (``rate`` records a second), with every
service running. The ledger gives each record's wait: ``received_at`` is set in intake's storing
transaction, ``decided_at`` in reconcile's; their differences over the run give the percentiles.
The ceiling, in the same run and at the same rate: a bare aiokafka producer and consumer on a
scratch topic, timing each message from send to receipt.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.console import Console

from shared.bench.intake import submitter_key
from shared.bench.stack import payload, prepared, scratch_topic
from shared.db.connection import connected
from shared.kafka.security import client_options
from shared.settings import Settings

TICK = 0.1  # seconds between posts
WARM_UP_SECONDS = 5.0


@dataclass(frozen=True)
class Percentiles:
    """Milliseconds."""

    p50: float
    p95: float
    p99: float
    max: float


@dataclass(frozen=True)
class LatencyResult:
    """Waits from 202 to decision, and from send to receipt on bare Kafka, at one rate."""

    records: int
    rate: float  # records/s actually posted
    pipeline: Percentiles
    raw: Percentiles


def _percentiles(ms: list[float]) -> Percentiles:
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return Percentiles(cuts[49], cuts[94], cuts[98], max(ms))


async def _post_at_rate(
    settings: Settings, lines: list[bytes], rate: int
) -> tuple[list[str], float]:
    """Post ``lines`` in arrays of ``rate * TICK`` every ``TICK`` s; the ids and the real rate."""
    per_tick = max(1, int(rate * TICK))
    key = await submitter_key(settings, lines)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    url = f"{settings.service_url('intake')}/v1/records"
    ids: list[str] = []
    async with httpx.AsyncClient(timeout=30) as client:

        async def post(chunk: list[bytes]) -> None:
            body = b"[" + b",".join(chunk) + b"]"
            answer = await client.post(url, content=body, headers=headers)
            answer.raise_for_status()
            ids.extend(r["record_id"] for r in answer.json()["results"])

        started = time.perf_counter()
        posts = []
        for n, i in enumerate(range(0, len(lines), per_tick)):
            # On the clock, not after the previous answer: a slow answer must not lower the rate.
            await asyncio.sleep(max(0.0, started + n * TICK - time.perf_counter()))
            posts.append(asyncio.create_task(post(lines[i : i + per_tick])))
        await asyncio.gather(*posts)
        elapsed = time.perf_counter() - started
    return ids, len(lines) / elapsed


async def _waits(settings: Settings, ids: list[str], timeout: float = 120) -> list[float]:
    async with connected(settings.dsn) as conn:
        deadline = time.monotonic() + timeout
        while True:
            rows = await conn.fetch(
                "SELECT extract(epoch FROM decided_at - received_at) * 1000 AS ms FROM records"
                " WHERE record_id = ANY($1::uuid[]) AND decided_at IS NOT NULL",
                ids,
            )
            if len(rows) == len(ids):
                return [float(r["ms"]) for r in rows]
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(ids) - len(rows)} records not decided in time")
            await asyncio.sleep(0.5)


async def _raw(settings: Settings, count: int, rate: int, size: int) -> list[float]:
    """Send-to-receipt milliseconds of bare Kafka at the same rate and message size."""
    async with scratch_topic(settings, "landsync.bench.latency") as topic:
        options = client_options(settings)
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap, enable_idempotence=True, acks="all",
            linger_ms=5, **options,
        )  # fmt: skip
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=settings.bootstrap, auto_offset_reset="earliest",
            group_id=f"bench-{uuid.uuid4().hex[:6]}", fetch_max_wait_ms=100, **options,
        )  # fmt: skip
        waits: list[float] = []
        async with producer, consumer:
            filler = b"x" * max(0, size - 8)

            async def receive() -> None:
                while len(waits) < count:
                    for records in (await consumer.getmany(timeout_ms=500)).values():
                        now = time.time()
                        waits.extend((now - float(r.value[:17])) * 1000 for r in records)

            receiving = asyncio.create_task(receive())
            per_tick = max(1, int(rate * TICK))
            started = time.perf_counter()
            for n in range(0, count, per_tick):
                await asyncio.sleep(
                    max(0.0, started + (n // per_tick) * TICK - time.perf_counter())
                )
                for _ in range(min(per_tick, count - n)):
                    await producer.send(topic, f"{time.time():17.6f}".encode() + filler)
            await asyncio.wait_for(receiving, 60)
    return waits


def run(data: Path, rate: int, seconds: float, console: Console) -> LatencyResult:
    """Prepare the bench stack and registry, then post at ``rate`` for ``seconds``."""
    settings, _, _ = prepared(data, console)
    warm_up = int(rate * WARM_UP_SECONDS)
    lines = payload(data, warm_up + int(rate * seconds))
    # The services were just started: until their consumer groups have settled, records wait
    # for partition assignments, which is start-up, not latency. Other records than those
    # measured, so the measured ones are not decided as duplicates of these.
    console.print(f"Warming up: {warm_up:,} records at {rate:,} a second, not measured")
    warm_ids, _ = asyncio.run(_post_at_rate(settings, lines[:warm_up], rate))
    asyncio.run(_waits(settings, warm_ids))
    lines = lines[warm_up:]
    console.print(f"Posting {len(lines):,} records at {rate:,} a second")
    ids, real_rate = asyncio.run(_post_at_rate(settings, lines, rate))
    waits = asyncio.run(_waits(settings, ids))
    size = int(statistics.mean(len(line) for line in lines))
    raw = asyncio.run(_raw(settings, len(lines), rate, size))
    return LatencyResult(len(ids), real_rate, _percentiles(waits), _percentiles(raw))
