"""Sync's SQL: the ledger's sync columns and the durable retry table, in batches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.sync.settle import Pending, Retry, Settlement, Triage
from shared.db.pool import Conn
from shared.kafka.dead_letters import Origin
from shared.states import SyncState

# Sync's own state machine: the decision (and its reasons) is reconcile's and stays as it is.
# The case's first sync is stamped in the same statement; case rows are locked in key order,
# as reconcile locks them, so the two never deadlock.
_SYNCED = f"""
WITH marked AS (
    UPDATE records r SET
        sync_state = '{SyncState.SYNCED}', national_id = u.national_id,
        sync_attempts = r.sync_attempts + u.attempts, sync_reason = NULL, sync_last_error = NULL,
        synced_at = now(), updated_at = now()
    FROM unnest($1::uuid[], $2::text[], $3::int[]) AS u(record_id, national_id, attempts)
    WHERE r.record_id = u.record_id
    RETURNING r.parcel_key
), locked AS (
    SELECT c.parcel_key FROM cases c
    WHERE c.parcel_key IN (SELECT parcel_key FROM marked) AND c.synced_at IS NULL
    ORDER BY c.parcel_key FOR UPDATE
)
UPDATE cases SET synced_at = now() FROM locked WHERE cases.parcel_key = locked.parcel_key
"""  # noqa: S608 - constants only

_FAILED = f"""
UPDATE records r SET
    sync_state = '{SyncState.FAILED}', sync_reason = u.reason,
    sync_attempts = r.sync_attempts + u.attempts, sync_last_error = u.detail, updated_at = now()
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[]) AS u(record_id, reason, detail, attempts)
WHERE r.record_id = u.record_id AND r.sync_state IS DISTINCT FROM '{SyncState.SYNCED}'
"""  # noqa: S608 - constants only

_PENDING = f"""
UPDATE records r SET
    sync_state = '{SyncState.PENDING}', sync_attempts = r.sync_attempts + u.attempts,
    sync_last_error = u.detail, updated_at = now()
FROM unnest($1::uuid[], $2::text[], $3::int[]) AS u(record_id, detail, attempts)
WHERE r.record_id = u.record_id
"""  # noqa: S608 - constants only

_PARK = """
INSERT INTO sync_retries (record_id, parcel_key, version, commune_code, plot, origin_topic,
    origin_partition, origin_offset, origin_timestamp, origin_key, origin_headers, failures,
    last_error, next_attempt_at)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::bytea[], $6::text[],
    $7::int[], $8::bigint[], $9::bigint[], $10::bytea[], $11::jsonb[], $12::int[], $13::text[],
    $14::timestamptz[])
ON CONFLICT (record_id) DO UPDATE SET
    failures = EXCLUDED.failures, last_error = EXCLUDED.last_error,
    next_attempt_at = EXCLUDED.next_attempt_at
-- A copy counting fewer failures (a redelivery) neither resets the count nor the schedule.
WHERE sync_retries.failures <= EXCLUDED.failures
"""


async def _mark_synced(conn: Conn, rows: Sequence[tuple[UUID, str, int]]) -> None:
    """(record_id, national_id, attempts): the plot is in the national database."""
    if rows:
        await conn.execute(_SYNCED, *map(list, zip(*rows, strict=True)))


async def _mark_failed(conn: Conn, rows: Sequence[tuple[UUID, str, str, int]]) -> None:
    """(record_id, reason, detail, attempts): the plot was dead-lettered."""
    if rows:
        await conn.execute(_FAILED, *map(list, zip(*rows, strict=True)))


async def _forget(conn: Conn, record_ids: list[UUID]) -> None:
    """Drop settled plots from the retry table."""
    if record_ids:
        await conn.execute("DELETE FROM sync_retries WHERE record_id = ANY($1)", record_ids)


async def _park(conn: Conn, retries: Sequence[Retry]) -> None:
    """Take plots aside to the retry table (or reschedule them there) and note it in the ledger."""
    if not retries:
        return
    await conn.execute(
        _PENDING,
        [r.pending.record_id for r in retries],
        [r.error for r in retries],
        [r.attempts for r in retries],
    )
    now = datetime.now(UTC)
    origins = [r.pending.origin for r in retries]
    await conn.execute(
        _PARK,
        [r.pending.record_id for r in retries],
        [r.pending.parcel_key for r in retries],
        [r.pending.version for r in retries],
        [r.pending.commune_code for r in retries],
        [o.value for o in origins],
        [o.topic for o in origins],
        [o.partition for o in origins],
        [o.offset for o in origins],
        [o.timestamp_ms for o in origins],
        [o.key for o in origins],
        [dict(o.headers) for o in origins],
        [r.failures for r in retries],
        [r.error for r in retries],
        [now + timedelta(seconds=r.delay) for r in retries],
    )


# Due plots that are the earliest version their parcel has waiting: order per parcel holds.
_DUE = """
SELECT * FROM sync_retries r
WHERE r.next_attempt_at <= now()
  AND NOT EXISTS (SELECT 1 FROM sync_retries o
                  WHERE o.parcel_key = r.parcel_key AND o.version < r.version)
ORDER BY r.next_attempt_at
LIMIT $1
"""


def _pending(row: asyncpg.Record) -> Pending:
    headers = row["origin_headers"]
    origin = Origin(
        topic=row["origin_topic"],
        partition=row["origin_partition"],
        offset=row["origin_offset"],
        timestamp_ms=row["origin_timestamp"],
        key=row["origin_key"],
        value=row["plot"],
        headers=orjson.loads(headers) if isinstance(headers, str) else headers,
    )
    return Pending(
        record_id=row["record_id"],
        parcel_key=row["parcel_key"],
        version=row["version"],
        commune_code=row["commune_code"],
        origin=origin,
        failures=row["failures"],
        first_failed_at=row["first_failed_at"],
    )


class PgSyncLedger:
    """The ledger's sync columns and the retry table as sync sees them (its ``SyncLedger`` port)."""

    def __init__(self, pool: Callable[[], asyncpg.Pool[Any]]) -> None:
        # A getter: the consumer's runtime opens the pool only once the event loop runs.
        self._pool = pool

    async def triage(self, record_ids: list[UUID], parcel_keys: list[str]) -> Triage:
        """Records already synced or dead-lettered, and the batch's parcels in the retry table.

        A parcel with a plot in the retry table has its later versions queued behind that plot.
        """
        rows = await self._pool().fetch(
            "SELECT record_id, sync_state, NULL AS parcel_key FROM records"  # noqa: S608
            f" WHERE record_id = ANY($1) AND sync_state IN ('{SyncState.SYNCED}',"
            f" '{SyncState.FAILED}')"
            " UNION ALL SELECT record_id, NULL, parcel_key FROM sync_retries"
            " WHERE parcel_key = ANY($2)",
            record_ids,
            parcel_keys,
        )
        waiting = [r for r in rows if r["parcel_key"] is not None]  # the retry table's rows
        return Triage(
            synced={r["record_id"] for r in rows if r["sync_state"] == SyncState.SYNCED},
            failed={r["record_id"] for r in rows if r["sync_state"] == SyncState.FAILED},
            waiting={r["record_id"] for r in waiting},
            waiting_parcels={r["parcel_key"] for r in waiting},
        )

    async def store(self, outcome: Settlement) -> None:
        """Write a settlement: synced, failed, parked and forgotten plots, in one transaction."""
        from_table = _from_retry_table(outcome)
        async with self._pool().acquire() as conn:
            if not (outcome.dead or outcome.retry or from_table):
                # The usual case, in one round trip: one statement needs no explicit transaction.
                await _mark_synced(conn, _synced_rows(outcome))
                return
            async with conn.transaction():
                await _mark_synced(conn, _synced_rows(outcome))
                await _mark_failed(
                    conn,
                    [(d.pending.record_id, d.reason, d.detail, d.attempts) for d in outcome.dead],
                )
                await _park(conn, outcome.retry)
                await _forget(conn, from_table)

    async def mark_failed(self, rows: Sequence[tuple[UUID, str, str, int]]) -> None:
        """(record_id, reason, detail, attempts): the plots were dead-lettered."""
        async with self._pool().acquire() as conn:
            await _mark_failed(conn, rows)

    async def due(self, limit: int) -> list[Pending]:
        """Plots in the retry table whose next attempt is due."""
        return [_pending(row) for row in await self._pool().fetch(_DUE, limit)]

    async def next_due_in(self) -> float | None:
        """Seconds until the retry table's next attempt is due, or None if it is empty."""
        value = await self._pool().fetchval(
            "SELECT extract(epoch FROM min(next_attempt_at) - now()) FROM sync_retries"
        )
        return None if value is None else float(value)


def _synced_rows(outcome: Settlement) -> list[tuple[UUID, str, int]]:
    return [(p.record_id, s.national_id, s.attempts) for p, s in outcome.synced]


def _from_retry_table(outcome: Settlement) -> list[UUID]:
    # Plots read back from the retry table carry the time they first failed; fresh ones do not.
    settled = [p for p, _ in outcome.synced] + [d.pending for d in outcome.dead]
    return [p.record_id for p in settled if p.first_failed_at is not None]
