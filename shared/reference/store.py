"""Writes parsed reference rows to PostgreSQL: COPY into a staging table, then one upsert."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from shared.db.pool import Conn
from shared.reference.parse import KEY_COLUMNS, TABLE_COLUMNS, Kind


def upsert_sql(kind: Kind) -> str:
    """The INSERT … SELECT from the staging table that inserts new rows and updates changed ones.

    ``DISTINCT ON`` keeps the chunk's last line per key (ON CONFLICT may touch a row only once),
    and its sort by key makes the primary-key inserts nearly sequential. Unchanged rows are not
    rewritten (``WHERE … IS DISTINCT FROM``), so reloading a file costs reads, not a second copy
    of the table. Rows absent from the file are left alone.
    """
    columns = TABLE_COLUMNS[kind]
    keys = ", ".join(KEY_COLUMNS[kind])
    others = [c for c in columns if c not in KEY_COLUMNS[kind]]
    listed = ", ".join(columns)
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in others)
    current = ", ".join(f"{kind}.{c}" for c in others)
    incoming = ", ".join(f"EXCLUDED.{c}" for c in others)
    # Table and column names come from this package's constants, never from input.
    return (
        f"INSERT INTO {kind} ({listed})"  # noqa: S608
        f" SELECT DISTINCT ON ({keys}) {listed} FROM {kind}_staging"
        f" ORDER BY {keys}, line_no DESC"
        f" ON CONFLICT ({keys}) DO UPDATE SET {assignments}"
        f" WHERE ({current}) IS DISTINCT FROM ({incoming})"
    )


#: A load at least this big (and a tenth of the table) rebuilds the secondary indexes instead of
#: updating them row by row: a sort-and-build is several times faster than a million random
#: inserts, at the price of locking readers out of the table until the load commits.
BULK_ROWS = 100_000


async def load_rows(
    conn: Conn,
    kind: Kind,
    chunks: Iterable[list[tuple[Any, ...]]],
    *,
    expected_rows: int = 0,
) -> int:
    """Load chunks of table rows (each ending with its line number) in one transaction.

    Each chunk is copied and upserted while the next one is parsed in a worker thread, so the
    server's work overlaps the parsing. A later chunk's line wins over an earlier one's, as in
    the file. ``expected_rows`` (an estimate) decides whether this is a bulk load. Returns the
    number of row writes (inserts and changes).
    """
    rows = iter(chunks)
    written = 0
    async with conn.transaction():
        # Memory for the staging table and the sorts, for this transaction only.
        await conn.execute("SET LOCAL work_mem = '256MB'; SET LOCAL maintenance_work_mem = '512MB'")
        await conn.execute(
            f"CREATE TEMP TABLE {kind}_staging (LIKE {kind}) ON COMMIT DROP;"
            f" ALTER TABLE {kind}_staging ADD COLUMN line_no integer NOT NULL"
        )
        parsing = asyncio.create_task(asyncio.to_thread(next, rows, None))
        rebuild = await _bulk(conn, kind, expected_rows)
        for name, _ in rebuild:
            await conn.execute(f'DROP INDEX "{name}"')
        while (chunk := await parsing) is not None:
            parsing = asyncio.create_task(asyncio.to_thread(next, rows, None))
            await conn.copy_records_to_table(
                f"{kind}_staging", records=chunk, columns=[*TABLE_COLUMNS[kind], "line_no"]
            )
            status = await conn.execute(upsert_sql(kind))
            written += int(status.rsplit(" ", 1)[-1])  # "INSERT 0 <n>"
            await conn.execute(f"TRUNCATE {kind}_staging")
        for _, definition in rebuild:
            await conn.execute(definition)
    return written


async def _bulk(conn: Conn, kind: Kind, expected: int) -> list[tuple[str, str]]:
    """(name, definition) of the secondary indexes to rebuild, if this load is a bulk load."""
    estimate = await conn.fetchval("SELECT reltuples FROM pg_class WHERE oid = $1::regclass", kind)
    if expected < max(BULK_ROWS, 0.1 * max(estimate or 0, 0)):
        return []
    rows = await conn.fetch(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indrelid = $1::regclass AND NOT i.indisprimary AND NOT i.indisunique",
        kind,
    )
    return [(r[0], r[1]) for r in rows]
