"""``landsync bench province``: a whole generated province through intake, reconcile and sync.

It runs on the reconcile bench's stack (``.landsync-bench``, ports 26xxx), with its registry. Every
service runs at once, as in the campaign: records are posted as NDJSON while reconcile decides
and sync sends to the simulator. The clock starts at the first request and stops when every
record is decided, and again when every accepted plot has left sync (synced or dead-lettered).

The ceiling, measured in the same run: a bare idempotent aiokafka producer sending the same
payloads once. It is the least any pipeline that starts with Kafka could take.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from shared.bench.intake import Payload, raw_ceiling, through_intake
from shared.bench.reconcile import ensure_registry, payload
from shared.bench.stack import bench_settings, reset_ledger
from shared.records import parcel_key
from shared.settings import Settings
from shared.stack import Stack

# Decided: no record still 'received'. Done: and no accepted plot still waiting for sync.
_PROGRESS = """
SELECT count(*) FILTER (WHERE status <> 'received') AS decided,
       count(*) FILTER (WHERE status <> 'received' AND status <> 'accepted') AS settled
FROM records
"""


@dataclass(frozen=True)
class ProvinceResult:
    """Seconds from the first request, and the same as records per second."""

    records: int
    raw_ceiling: float  # records/s
    submitted_s: float  # every record answered 202
    decided_s: float  # every record decided by reconcile
    settled_s: float  # every accepted plot synced or dead-lettered by sync

    def rate(self, seconds: float) -> float:
        """Records per second over ``seconds``."""
        return self.records / seconds


def _keys(lines: list[bytes]) -> list[bytes]:
    keys = []
    for line in lines:
        r = orjson.loads(line)
        p = r["parcel"]
        keys.append(parcel_key(r["commune_code"], p["map_sheet"], p["parcel_no"]).encode())
    return keys


async def _measure(settings: Settings, lines: list[bytes], console: Console) -> ProvinceResult:
    ceiling = await raw_ceiling(settings, Payload(lines, _keys(lines)))
    await reset_ledger(settings)
    started = time.perf_counter()
    submit = asyncio.create_task(through_intake(settings, lines, chunk=10_000, concurrency=2))
    submitted_s = decided_s = 0.0
    conn = await asyncpg.connect(settings.dsn)
    try:
        with Progress(
            "{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console,
        ) as bar:  # fmt: skip
            decided_bar = bar.add_task("decided", total=len(lines))
            settled_bar = bar.add_task("synced or dead-lettered", total=len(lines))
            while True:
                await asyncio.sleep(1.0)
                if submit.done() and not submitted_s:
                    submit.result()  # raises if intake refused anything
                    submitted_s = time.perf_counter() - started
                row = await conn.fetchrow(_PROGRESS)
                assert row is not None
                bar.update(decided_bar, completed=row["decided"])
                bar.update(settled_bar, completed=row["settled"])
                now = time.perf_counter() - started
                if row["decided"] >= len(lines) and not decided_s:
                    decided_s = now
                if row["settled"] >= len(lines) and submitted_s:
                    return ProvinceResult(len(lines), ceiling, submitted_s, decided_s, now)
    finally:
        await conn.close()


def run(data: Path, count: int | None, console: Console) -> ProvinceResult:
    """Prepare the bench stack and registry, then time the whole province end to end."""
    settings = bench_settings()
    stack = Stack(settings, console)
    stack.up()
    ensure_registry(settings, data, console)
    lines = payload(data, count if count is not None else 10**9)
    console.print(f"Submitting {len(lines):,} records with every service running")
    return asyncio.run(_measure(settings, lines, console))
