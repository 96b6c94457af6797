"""The ``imports`` table: an import's file and rows, and its records' current decisions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from shared.states import reasons_sql, status_sql


@dataclass(frozen=True)
class StoredImport:
    """One import as the table holds it."""

    import_id: UUID
    communes: list[str]
    file_name: str | None
    template_version: str
    header_row: int
    sheet_name: str
    row_count: int
    record_count: int
    source: bytes
    rows: list[dict[str, Any]]
    errors: list[dict[str, Any]]


async def insert(
    conn: asyncpg.Connection[Any] | asyncpg.Pool[Any], found: StoredImport, by: str
) -> None:
    """Store an import (on a pool from ``shared.db.pool``, whose codec encodes jsonb)."""
    await conn.execute(
        "INSERT INTO imports (import_id, submitted_by, communes, file_name, template_version,"
        " header_row, sheet_name, row_count, record_count, source, rows, errors)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb)",
        found.import_id, by, found.communes, found.file_name, found.template_version,
        found.header_row, found.sheet_name, found.row_count, found.record_count, found.source,
        found.rows, found.errors,
    )  # fmt: skip


async def fetch(pool: asyncpg.Pool[Any], import_id: UUID) -> StoredImport | None:
    """An import by id, or ``None``."""
    row = await pool.fetchrow(
        "SELECT import_id, communes, file_name, template_version, header_row, sheet_name,"
        " row_count, record_count, source, rows, errors"
        " FROM imports WHERE import_id = $1",
        import_id,
    )
    if row is None:
        return None
    values = dict(row)  # jsonb arrives decoded: the pool's codec (shared/db/pool.py)
    values["source"] = bytes(values["source"])
    return StoredImport(**values)


# The status and reasons CONTRACT §2 shows, derived from the decision and sync's progress.
_DECISIONS = f"""
SELECT record_id::text AS record_id, submission_id, {status_sql()} AS status,
       ({reasons_sql()})::text AS reasons
FROM records WHERE record_id = ANY($1::uuid[])
"""  # noqa: S608 - built from constants; the ids are a parameter


async def decisions(
    conn: asyncpg.Pool[Any] | asyncpg.Connection[Any], record_ids: list[str]
) -> dict[str, dict[str, Any]]:
    """The current status and reasons of the records, by record id (on a pool or connection)."""
    rows = await conn.fetch(_DECISIONS, record_ids)
    return {
        r["record_id"]: {
            "submission_id": r["submission_id"],
            "status": r["status"],
            "reasons": json.loads(r["reasons"]),
        }
        for r in rows
    }
