"""Intake's SQL: storing received records with their outbox messages, and reading them back."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from shared.db.pool import Conn
from shared.states import reasons_sql, status_sql

# One statement stores the batch: ledger rows, and outbox rows for those that were new. Both in
# one transaction, so a record answered 202 is either fully stored with its pending message, or
# absent. ON CONFLICT makes a resubmitted submission_id of the same commune a no-op (and waits
# for a concurrent insert of the same id to finish, so the follow-up lookup sees it).
_STORE = """
WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::text[], $5::text[], $6::text[])
        WITH ORDINALITY AS t(record_id, submission_id, content_hash, commune_code, parcel_key,
                             record, ord)
), inserted AS (
    INSERT INTO records (record_id, submission_id, content_hash, commune_code, parcel_key,
                         record, submitted_by)
    SELECT record_id, submission_id, content_hash, commune_code, parcel_key, record::json, $7
    FROM input
    ON CONFLICT (submission_id, commune_code) DO NOTHING
    RETURNING record_id
), queued AS (
    INSERT INTO outbox (record_id, traceparent)
    SELECT i.record_id, $8 FROM input i JOIN inserted USING (record_id)
    ORDER BY i.ord
), cased AS (
    -- A parcel's first record opens its case (pending until decided); in key order, so two
    -- batches of the same parcels wait for each other instead of deadlocking.
    INSERT INTO cases (parcel_key, commune_code)
    SELECT DISTINCT i.parcel_key, i.commune_code FROM input i JOIN inserted USING (record_id)
    ORDER BY i.parcel_key
    ON CONFLICT (parcel_key) DO NOTHING
)
SELECT record_id FROM inserted
"""


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ is slower, thousands a batch
class NewRecord:
    """A validated record, ready to be stored and published."""

    record_id: UUID
    submission_id: str
    content_hash: bytes
    commune_code: str
    parcel_key: str
    record_json: str

    @property
    def submission_key(self) -> SubmissionKey:
        """What makes this record the same as an earlier one: its commune and submission_id."""
        return self.commune_code, self.submission_id


#: Idempotency is per commune (CONTRACT §1): (commune_code, submission_id).
SubmissionKey = tuple[str, str]


@dataclass(frozen=True)
class Existing:
    """A record already in the ledger under a commune's submission_id."""

    record_id: UUID
    content_hash: bytes


_STATUS = f"""
SELECT record_id, submission_id, commune_code, parcel_key, {status_sql()} AS status,
       {reasons_sql()} AS reasons, warnings, received_at, decided_at, sync_state, sync_attempts,
       national_id, synced_at, updated_at, decision, corrects_record_id
FROM records WHERE record_id = $1
"""  # noqa: S608 - constant expressions, no input


async def fetch_status(pool: asyncpg.Pool[Any], record_id: UUID) -> asyncpg.Record | None:
    """The ledger row of one record, without the record body."""
    row: asyncpg.Record | None = await pool.fetchrow(_STATUS, record_id)
    return row


class PgRecords:
    """The ledger's records on one connection, as ``service.receive`` stores them (its port)."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def store(
        self, records: list[NewRecord], *, key_id: str, traceparent: str | None = None
    ) -> tuple[set[UUID], dict[SubmissionKey, Existing]]:
        """Store new records; return the ids inserted and, for the others, what the ledger holds.

        Everything is read before the commit: once it is done the answer is known, and nothing
        that happens to the connection afterwards can change it (see ``service.store``).
        """
        conn = self._conn
        async with conn.transaction():
            rows = await conn.fetch(
                _STORE,
                [r.record_id for r in records],
                [r.submission_id for r in records],
                [r.content_hash for r in records],
                [r.commune_code for r in records],
                [r.parcel_key for r in records],
                [r.record_json for r in records],
                key_id,
                traceparent,  # the request's trace, which the relay puts on the records' messages
            )
            inserted = {row["record_id"] for row in rows}
            others = [r for r in records if r.record_id not in inserted]
            existing: dict[SubmissionKey, Existing] = {}
            if others:
                for row in await conn.fetch(
                    "SELECT r.commune_code, r.submission_id, r.record_id, r.content_hash"
                    " FROM records r JOIN unnest($1::text[], $2::text[])"
                    " AS o(commune_code, submission_id) USING (submission_id, commune_code)",
                    [r.commune_code for r in others],
                    [r.submission_id for r in others],
                ):
                    key = (row["commune_code"], row["submission_id"])
                    existing[key] = Existing(row["record_id"], bytes(row["content_hash"]))
        return inserted, existing


@contextlib.asynccontextmanager
async def sessions(pool: asyncpg.Pool[Any]) -> AsyncIterator[PgRecords]:
    """A pooled connection's records, released when the block ends."""
    async with pool.acquire() as conn:
        yield PgRecords(conn)
