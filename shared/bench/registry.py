"""``landsync bench registry``: rows/s of `registry load`, first load and reload, vs a bare COPY.

It runs on a PostgreSQL of its own (``.landsync-bench-registry``, ports 24xxx) whose reference
tables it empties, so no user data is touched. Each load is timed as the command does it: the
transaction that copies, checks and writes, then ``VACUUM (ANALYZE)``.

The ceiling, measured in the same run on the same server: a bare ``COPY`` of the same file into
an unlogged table of text columns with no index, no check and no key.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from shared.db.connection import connected
from shared.reference import store
from shared.reference.parse import FILE_COLUMNS, Kind, ParseResult
from shared.settings import PROJECT_ROOT, Settings, isolated

BASE = 24_000  # below the ephemeral port range (see shared.settings.isolated)
KINDS: tuple[Kind, ...] = ("residents", "certificates")


def bench_settings() -> Settings:
    """The bench's own PostgreSQL: its state directory and ports."""
    return isolated(BASE, PROJECT_ROOT / ".landsync-bench-registry")


@dataclass(frozen=True)
class RegistryResult:
    """Rows per second of one kind's file."""

    kind: Kind
    rows: int
    raw_ceiling: float  # bare COPY into an unlogged, unindexed table
    first_load: float  # into the empty table
    reload: float  # the same file again: every row compared, none changed

    @property
    def ratio(self) -> float:
        """The slower of the two loads ÷ the raw ceiling."""
        return min(self.first_load, self.reload) / self.raw_ceiling


async def raw_ceiling(conn: asyncpg.Connection[Any], kind: Kind, path: Path) -> float:
    """Rows/s of a bare COPY of the file into an unlogged table of text columns."""
    columns = ", ".join(f"{c} text" for c in FILE_COLUMNS[kind])
    await conn.execute(
        f"DROP TABLE IF EXISTS bench_raw; CREATE UNLOGGED TABLE bench_raw ({columns})"
    )
    try:
        started = time.perf_counter()
        with path.open("rb") as f:
            status = await conn.copy_to_table("bench_raw", source=f, format="csv", header=True)
        elapsed = time.perf_counter() - started
    finally:
        await conn.execute("DROP TABLE bench_raw")
    return int(status.rsplit(" ", 1)[-1]) / elapsed


async def timed_load(conn: asyncpg.Connection[Any], kind: Kind, path: Path) -> tuple[int, float]:
    """(rows loaded, rows/s) of one `registry load` of the file, VACUUM included."""
    result = ParseResult()
    started = time.perf_counter()
    await store.load_file(conn, kind, path, result)
    await store.tidy(conn, kind)
    elapsed = time.perf_counter() - started
    if result.refused:
        raise RuntimeError(f"{path}: {dict(result.refused)} lines refused; use a generated file")
    return result.rows, result.rows / elapsed


async def run(settings: Settings, data: Path) -> list[RegistryResult]:
    """Empty the reference tables, then per kind: ceiling, first load, reload."""
    # The owner: it truncates, and loads as `landsync registry load` does.
    async with connected(settings.migration_dsn, server_settings=store.SESSION_SETTINGS) as conn:
        await conn.execute("TRUNCATE residents, certificates")
        results = []
        for kind in KINDS:
            path = data / f"{kind}.csv"
            ceiling = await raw_ceiling(conn, kind, path)
            rows, first = await timed_load(conn, kind, path)
            _, again = await timed_load(conn, kind, path)
            results.append(RegistryResult(kind, rows, ceiling, first, again))
    return results


def measure(data: Path) -> list[RegistryResult]:
    """Start the bench's PostgreSQL (migrated) and run the loads."""
    from shared.stack import Stack  # noqa: PLC0415

    settings = bench_settings()
    Stack(settings).start_postgres()
    return asyncio.run(run(settings, data))
