"""``landsync bench sync``: plots/s through sync vs the simulator's own rate for the same batches.

Sync's figure runs from the first publish to ``land.plots.accepted`` until every plot is
``synced`` in the ledger: Kafka, validation, requests, ledger writes and commits. The ceiling posts
the same plots in the same batches (``LANDSYNC_SYNC_BATCH_SIZE``) with the same concurrency from a
bare httpx loop, under other parcel keys so that the simulator does the same work (creations).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import statistics
import time
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import orjson
from aiokafka import AIOKafkaProducer

from shared.db.connection import connected
from shared.kafka.security import client_options
from shared.records import parcel_key
from shared.settings import Settings
from shared.synthetic import records
from shared.topics import Topic

COMMUNE = "07339"
_SHEETS_PER_RUN = 10_000


@dataclass(frozen=True)
class Plots:
    """One round's accepted plots, serialised once."""

    record_ids: list[uuid.UUID]
    keys: list[str]
    values: list[bytes]
    rows: list[tuple[Any, ...]]  # ledger rows


@dataclass(frozen=True)
class SyncResult:
    """Median throughputs over the rounds, in plots per second."""

    plots: int
    raw_ceiling: float
    synced: float
    rounds: int

    @property
    def ratio(self) -> float:
        """Sync end to end ÷ the raw ceiling."""
        return self.synced / self.raw_ceiling


def make_plots(count: int) -> Plots:
    """``count`` accepted plots of parcels the simulator has not seen (a random block of sheets)."""
    run = f"bench-sync-{uuid.uuid4().hex[:8]}"
    base = random.randrange(1, 9_000_000 // _SHEETS_PER_RUN) * _SHEETS_PER_RUN  # noqa: S311
    ids, keys, values, rows = [], [], [], []
    for record in records(COMMUNE, count, seed=11, run=run):
        parcel = record["parcel"]
        parcel["map_sheet"] += base
        parcel["certificate_map_sheet"] = parcel["map_sheet"]
        record_id = uuid.uuid4()
        key = parcel_key(COMMUNE, parcel["map_sheet"], parcel["parcel_no"])
        value = orjson.dumps({**record, "record_id": str(record_id), "version": 1})
        ids.append(record_id)
        keys.append(key)
        values.append(value)
        rows.append(
            (record_id, record["submission_id"], hashlib.sha256(value).digest(), COMMUNE, key,
             orjson.dumps(record).decode())
        )  # fmt: skip
    return Plots(ids, keys, values, rows)


def _body(keys: list[str], values: list[bytes]) -> bytes:
    items = [
        b'{"parcel_key":%b,"version":1,"idempotency_key":%b,"plot":%b}'
        % (orjson.dumps(k), orjson.dumps(f"{k}:v1"), v)
        for k, v in zip(keys, values, strict=True)
    ]
    return b'{"items":[' + b",".join(items) + b"]}"


async def raw_ceiling(settings: Settings, plots: Plots) -> float:
    """Plots/s of a bare httpx loop posting the same batches to the simulator."""
    size = settings.sync_batch_size
    raw_keys = [f"raw-{k}" for k in plots.keys]
    bodies = [
        _body(raw_keys[i : i + size], plots.values[i : i + size])
        for i in range(0, len(raw_keys), size)
    ]
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    headers = {
        "Authorization": f"Bearer {settings.national_db_token}",
        "Content-Type": "application/json",
    }

    async def post_all(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            response = await client.post("/v1/parcels:batchUpsert", content=body, headers=headers)
            response.raise_for_status()

    async with httpx.AsyncClient(base_url=settings.national_db, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(post_all(client) for _ in range(settings.sync_concurrency)))
        elapsed = time.perf_counter() - started
    return len(plots.keys) / elapsed


async def through_sync(settings: Settings, plots: Plots) -> float:
    """Plots/s from the first publish until the ledger holds every plot as synced."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap, enable_idempotence=True, linger_ms=5,
        max_batch_size=1024 * 1024, **client_options(settings),
    )  # fmt: skip
    async with connected(settings.dsn) as conn, producer:
        await conn.executemany(
            "INSERT INTO records (record_id, submission_id, content_hash, commune_code,"
            " parcel_key, record, decision, decided_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, 'accepted', now())",
            plots.rows,
        )
        # Their cases, as reconcile leaves them: sync stamps each one's first sync.
        await conn.executemany(
            "INSERT INTO cases (parcel_key, commune_code, state, record_id, cleaned_at)"
            " VALUES ($1, $2, 'cleaned', $3, now()) ON CONFLICT (parcel_key) DO NOTHING",
            [(r[4], r[3], r[0]) for r in plots.rows],
        )
        topic = settings.topics.name(Topic.ACCEPTED)
        created_before = await _created(settings)
        started = time.perf_counter()
        futures = [
            await producer.send(topic, value, key=key.encode())
            for key, value in zip(plots.keys, plots.values, strict=True)
        ]
        await asyncio.gather(*futures)
        await _until_created(settings, created_before + len(plots.record_ids))
        await _until_synced(conn, plots.record_ids)
        elapsed = time.perf_counter() - started
    return len(plots.record_ids) / elapsed


async def _created(settings: Settings) -> int:
    async with httpx.AsyncClient(base_url=settings.national_db) as client:
        created: int = (await client.get("/v1/_stats")).json()["created"]
    return created


async def _until_created(settings: Settings, target: int) -> None:
    # The simulator's counter is cheap to poll; counting 20,000 ledger rows every 50 ms is not,
    # and would take CPU from the very database the sync writes to.
    while await _created(settings) < target:  # noqa: ASYNC110 - polls another process
        await asyncio.sleep(0.05)


async def _until_synced(conn: asyncpg.Connection[Any], record_ids: list[uuid.UUID]) -> None:
    query = "SELECT count(*) FROM records WHERE record_id = ANY($1) AND sync_state = 'synced'"
    while await conn.fetchval(query, record_ids) < len(record_ids):  # noqa: ASYNC110 - polls the DB
        await asyncio.sleep(0.05)


async def run(settings: Settings, *, count: int, rounds: int) -> SyncResult:
    """Alternate raw and sync runs; the medians of each (the machine is shared and noisy)."""
    raws, syncs = [], []
    for _ in range(rounds):
        plots = make_plots(count)
        raws.append(await raw_ceiling(settings, plots))
        syncs.append(await through_sync(settings, plots))
    return SyncResult(count, statistics.median(raws), statistics.median(syncs), rounds)
