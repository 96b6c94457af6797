"""``landsync bench intake``: bulk NDJSON through intake vs a bare aiokafka producer.

Both send the same payloads with the same keys to the same local broker, one after the other, in
one run. The ceiling is a producer configured as intake's (idempotent, ``acks=all``) calling
``send`` per message, the usual way, so the ratio shows what validation, the ledger, the outbox
and the relay cost on this machine. A second, stricter ceiling is reported beside it: LandSync's
own producer alone, which packs record batches by hand (as intake's relay does) and so publishes
the same payloads about twice as fast.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass

import httpx
import orjson
from aiokafka import AIOKafkaProducer

from shared.auth import create_key_at
from shared.bench.stack import scratch_topic
from shared.db.connection import connected
from shared.kafka.producer import TUNING, Outgoing, Producer
from shared.kafka.security import client_options
from shared.records import parcel_key
from shared.settings import Settings
from shared.synthetic import records

COMMUNE = "07339"


@dataclass(frozen=True)
class Payload:
    """The records of one run, serialised once for both contenders."""

    lines: list[bytes]
    keys: list[bytes]

    @classmethod
    def of(cls, lines: list[bytes]) -> Payload:
        """Records as NDJSON lines, with their parcel keys."""
        keys = []
        for line in lines:
            r = orjson.loads(line)
            p = r["parcel"]
            keys.append(parcel_key(r["commune_code"], p["map_sheet"], p["parcel_no"]).encode())
        return cls(lines, keys)

    @property
    def bytes(self) -> int:
        """Total payload size."""
        return sum(map(len, self.lines))


@dataclass(frozen=True)
class IntakeResult:
    """Median throughputs over the rounds, in records per second."""

    records: int
    payload_bytes: int
    raw_ceiling: float
    batched_ceiling: float  # LandSync's producer alone: record batches packed by hand
    acknowledged: float  # every record answered 202
    published: float  # every record on land.records.submitted (outbox drained)
    rounds: int

    @property
    def ratio(self) -> float:
        """Intake end to end (published) ÷ the raw ceiling."""
        return self.published / self.raw_ceiling

    @property
    def ratio_batched(self) -> float:
        """Intake end to end (published) ÷ the stricter, batched ceiling."""
        return self.published / self.batched_ceiling


def make_payload(count: int) -> Payload:
    """``count`` synthetic records with fresh submission ids."""
    run = f"bench-{uuid.uuid4().hex[:8]}"
    return Payload.of([orjson.dumps(r) for r in records(COMMUNE, count, seed=7, run=run)])


async def raw_ceiling(settings: Settings, payload: Payload) -> float:
    """Records/s of a bare idempotent producer sending the payload to a scratch topic."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap, **TUNING, **client_options(settings)
    )
    async with (
        scratch_topic(settings, f"{settings.topic_prefix}landsync.bench.raw") as topic,
        producer,
    ):
        started = time.perf_counter()
        futures = [
            await producer.send(topic, line, key=key)
            for line, key in zip(payload.lines, payload.keys, strict=True)
        ]
        await asyncio.gather(*futures)
        elapsed = time.perf_counter() - started
    return len(payload.lines) / elapsed


async def batched_ceiling(settings: Settings, payload: Payload) -> float:
    """Records/s of LandSync's producer alone (as intake's relay publishes) to a scratch topic."""
    async with scratch_topic(settings, f"{settings.topic_prefix}landsync.bench.batched") as topic:
        producer = Producer(settings, client_id="landsync-bench")
        await producer.start()
        try:
            pairs = zip(payload.lines, payload.keys, strict=True)
            started = time.perf_counter()
            await producer.publish_all(
                (Outgoing(topic, line, key) for line, key in pairs), batched=True
            )
            elapsed = time.perf_counter() - started
        finally:
            await producer.stop()
    return len(payload.lines) / elapsed


async def submitter_key(settings: Settings, lines: list[bytes]) -> str:
    """A new submitter key for the communes of ``lines``."""
    communes = sorted({orjson.loads(line)["commune_code"] for line in lines})
    key, _ = await create_key_at(settings.dsn, "submitter", communes, "bench")
    return key


async def through_intake(
    settings: Settings, lines: list[bytes], *, chunk: int, concurrency: int
) -> tuple[float, float]:
    """Records/s answered 202, and records/s until the outbox has published them all."""
    key = await submitter_key(settings, lines)
    async with connected(settings.dsn) as conn:
        bodies = [b"\n".join(lines[i : i + chunk]) for i in range(0, len(lines), chunk)]
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}
        url = f"{settings.service_url('intake')}/v1/records:ndjson"
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for body in bodies:
            queue.put_nowait(body)

        async def post_all(client: httpx.AsyncClient) -> None:
            while not queue.empty():
                response = await client.post(url, content=queue.get_nowait(), headers=headers)
                response.raise_for_status()
                if response.json()["errors"]:
                    raise RuntimeError(f"intake refused records: {response.text[:300]}")

        started = time.perf_counter()
        async with httpx.AsyncClient(timeout=300) as client:
            await asyncio.gather(*(post_all(client) for _ in range(concurrency)))
        acknowledged = time.perf_counter() - started
        while await conn.fetchval("SELECT count(*) FROM outbox"):  # noqa: ASYNC110 - polls the DB
            await asyncio.sleep(0.05)
        published = time.perf_counter() - started
    return len(lines) / acknowledged, len(lines) / published


async def run(
    settings: Settings, *, count: int, chunk: int, concurrency: int, rounds: int
) -> IntakeResult:
    """Alternate raw and intake runs; the medians of each (the machine is shared and noisy)."""
    raws, batched, acknowledged, published = [], [], [], []
    for _ in range(rounds):
        payload = make_payload(count)
        raws.append(await raw_ceiling(settings, payload))
        batched.append(await batched_ceiling(settings, payload))
        ack, pub = await through_intake(
            settings, payload.lines, chunk=chunk, concurrency=concurrency
        )
        acknowledged.append(ack)
        published.append(pub)
    return IntakeResult(
        count,
        payload.bytes,
        statistics.median(raws),
        statistics.median(batched),
        statistics.median(acknowledged),
        statistics.median(published),
        rounds,
    )
