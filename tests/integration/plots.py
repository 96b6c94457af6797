"""Helpers of the sync tests: accepted plots in the ledger and on the topic, the simulator."""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import orjson

from shared.settings import Settings
from shared.states import reasons_sql, status_sql
from shared.topics import Topic
from tests.support import bearer, make_record, parcel_key_of, plain_producer

COMMUNE = "07339"
_rng = random.Random()


@dataclass(frozen=True)
class Plot:
    """An accepted plot as published, and where it landed on the topic."""

    record_id: str
    parcel_key: str
    version: int
    value: bytes
    partition: int = -1
    offset: int = -1


def new_plots(n: int) -> list[Plot]:
    """``n`` version-1 plots of parcels no other test (or earlier session) has used."""
    plots = []
    for _ in range(n):
        record = make_record(COMMUNE)
        record["parcel"]["map_sheet"] = _rng.randrange(100, 10_000)
        record["parcel"]["parcel_no"] = _rng.randrange(1, 10_000_000)
        plots.append(plot_of(record, version=1))
    return plots


def plot_of(record: dict[str, Any], *, version: int) -> Plot:
    """The land.plots.accepted value of ``record`` with a fresh record id."""
    record_id = str(uuid.uuid4())
    value = orjson.dumps({**record, "record_id": record_id, "version": version})
    return Plot(record_id, parcel_key_of(record), version, value)


async def accept(db: asyncpg.Pool[Any], settings: Settings, plots: Sequence[Plot]) -> list[Plot]:
    """Write the plots' ledger rows (and cases) as accepted, then publish them keyed by parcel."""
    rows = []
    for p in plots:
        record = orjson.loads(p.value)
        rows.append(
            (
                uuid.UUID(p.record_id),
                record["submission_id"],
                hashlib.sha256(p.value).digest(),
                COMMUNE,
                p.parcel_key,
                orjson.dumps(record).decode(),
            )
        )
    await db.executemany(
        "INSERT INTO records (record_id, submission_id, content_hash, commune_code, parcel_key,"
        " record, decision, decided_at) VALUES ($1, $2, $3, $4, $5, $6, 'accepted', now())"
        " ON CONFLICT (record_id) DO NOTHING",
        rows,
    )
    # As reconcile's decision transaction would: the parcel's case is cleaned.
    await db.executemany(
        "INSERT INTO cases (parcel_key, commune_code, state, record_id, decided_at, cleaned_at)"
        " VALUES ($1, $2, 'cleaned', $3, now(), now()) ON CONFLICT (parcel_key) DO NOTHING",
        [(r[4], r[3], r[0]) for r in rows],
    )
    return await publish(settings, plots)


async def publish(settings: Settings, plots: Sequence[Plot]) -> list[Plot]:
    """Publish plots to land.plots.accepted; returns them with their partition and offset."""
    async with plain_producer(settings.bootstrap) as producer:
        futures = [
            await producer.send(
                settings.topics.name(Topic.ACCEPTED),
                p.value,
                key=p.parcel_key.encode(),
                headers=[("record.id", p.record_id.encode()), ("commune.code", COMMUNE.encode())],
            )
            for p in plots
        ]
        sent = [await f for f in futures]
    return [
        Plot(p.record_id, p.parcel_key, p.version, p.value, m.partition, m.offset)
        for p, m in zip(plots, sent, strict=True)
    ]


async def ledger(db: asyncpg.Pool[Any], plots: Sequence[Plot]) -> dict[str, Any]:
    """The ledger rows of the plots, by record id."""
    rows = await db.fetch(
        f"SELECT record_id::text AS id, {status_sql()} AS status, sync_state, national_id,"
        " sync_attempts, sync_last_error, synced_at, updated_at,"
        f" {reasons_sql()} AS reasons FROM records WHERE record_id = ANY($1::uuid[])",
        [p.record_id for p in plots],
    )
    return {r["id"]: r for r in rows}


class Simulator:
    """The national database simulator's test controls."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self._client = client
        self._token = token

    async def stats(self) -> dict[str, int]:
        """``GET /v1/_stats``."""
        stats: dict[str, int] = (await self._client.get("/v1/_stats")).json()
        return stats

    async def faults(self, **body: Any) -> None:
        """``POST /v1/_faults``."""
        response = await self._client.post("/v1/_faults", json=body)
        response.raise_for_status()

    async def parcel(self, parcel_key: str) -> dict[str, Any] | None:
        """``GET /v1/parcels/{parcel_key}``, or None if it holds no such parcel."""
        response = await self._client.get(f"/v1/parcels/{parcel_key}", headers=bearer(self._token))
        return None if response.status_code == 404 else response.json()


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """How much each counter moved."""
    return {k: after[k] - before[k] for k in after}
