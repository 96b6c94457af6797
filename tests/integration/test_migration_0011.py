"""Migration 0011 moves a ledger written by the earlier schema to the two state machines."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import pytest

from shared.db.connection import connected
from shared.db.migrate import apply_migrations
from shared.settings import Settings
from shared.states import reasons_sql, status_sql
from tests.integration.scratch_db import scratch_database

# Rows as the code before 0011 wrote them: (name, parcel, status, sync_state, reasons, extra).
_SYNC_REFUSED = {"code": "sync_rejected", "detail": "HTTP 422: parcel unknown"}
_OWNER = {"code": "owner_unresolved", "detail": "no resident 024085001234"}
_INCOMPLETE = {"code": "incomplete", "detail": "missing: holder_type"}
_ROWS: list[tuple[str, int, str, str | None, list[dict[str, str]]]] = [
    ("received", 1, "received", None, []),
    ("accepted", 2, "accepted", "pending", []),
    ("synced", 3, "synced", "synced", []),
    ("rejected", 4, "rejected", None, [_INCOMPLETE]),
    ("corrected", 4, "synced", "synced", []),  # a later record of parcel 4, accepted
    ("dead", 5, "dead_lettered", None, [_OWNER]),
    ("sync_failed", 6, "dead_lettered", "failed", [_SYNC_REFUSED]),
    ("replayed", 7, "synced", "synced", []),  # sync failed once, replayed, synced
    ("duplicate", 3, "duplicate", None, []),
    # what the hardening (#10) writes for records given up on as poison: by reconcile, by sync
    ("poison", 8, "dead_lettered", None, [{"code": "unprocessable", "detail": "x"}]),
    ("sync_poison", 9, "dead_lettered", "failed", [{"code": "undecodable", "detail": "y"}]),
]


@pytest.fixture
async def old_ledger(db: asyncpg.Pool[Any], settings: Settings) -> AsyncIterator[str]:
    """A database of its own at the schema before 0011, deleted afterwards."""
    async with scratch_database(settings, "landsync_m0011", before="0011") as dsn:
        yield dsn


async def _write_old_rows(conn: asyncpg.Connection[Any]) -> dict[str, uuid.UUID]:
    ids = {}
    for n, (name, parcel, status, sync_state, reasons) in enumerate(_ROWS):
        ids[name] = uuid.uuid4()
        decided = None if status == "received" else datetime(2025, 9, 1 + n, 10, tzinfo=UTC)
        await conn.execute(
            "INSERT INTO records (record_id, submission_id, content_hash, commune_code, parcel_key,"
            " record, status, reasons, sync_state, sync_last_error, national_id, synced_at,"
            " received_at, decided_at)"
            " VALUES ($1, $2, '\\x00', '07339', $3, '{}', $4, $5::jsonb, $6, $7, $8,"
            " CASE WHEN $6 = 'synced' THEN $9::timestamptz END,"
            " '2025-09-01T08:00:00+00:00', $9::timestamptz)",
            ids[name],
            f"old-{name}",
            f"07339:1:{parcel}",
            status,
            orjson.dumps(reasons).decode(),
            sync_state,
            reasons[-1]["detail"] if sync_state == "failed" else None,
            "VN-1" if sync_state == "synced" else None,
            decided,
        )
    return ids


async def test_an_old_ledger_keeps_every_status_and_reason_and_gains_its_cases(
    old_ledger: str,
) -> None:
    async with connected(old_ledger) as conn:
        ids = await _write_old_rows(conn)
        before = {
            r["record_id"]: (r["status"], r["reasons"])
            for r in await conn.fetch("SELECT record_id, status, reasons::text FROM records")
        }
        await apply_migrations(old_ledger)
        after = await conn.fetch(
            f"SELECT record_id, submission_id, decision, sync_state, sync_reason,"
            f" {status_sql()} AS status, {reasons_sql()}::text AS reasons, reasons::text AS own"
            " FROM records"
        )
        cases = {
            r["parcel_key"]: r
            for r in await conn.fetch("SELECT parcel_key, state, reasons, record_id FROM cases")
        }

    assert len(after) == len(_ROWS)  # nothing lost
    for row in after:
        # What GET /v1/records/{id} shows is what it showed before the migration.
        assert (row["status"], orjson.loads(row["reasons"])) == (
            before[row["record_id"]][0],
            orjson.loads(before[row["record_id"]][1]),
        ), row["submission_id"]
    by_name = {r["submission_id"].removeprefix("old-"): r for r in after}
    assert {
        n: by_name[n]["decision"] for n in ("synced", "sync_failed", "replayed")
    } == dict.fromkeys(("synced", "sync_failed", "replayed"), "accepted")
    failed = by_name["sync_failed"]
    assert (failed["sync_state"], failed["sync_reason"], failed["own"]) == (
        "failed",
        "sync_rejected",
        "[]",
    ), "the sync reason moved out of the decision's reasons"
    assert orjson.loads(by_name["rejected"]["own"]) == [_INCOMPLETE]

    assert {k: c["state"] for k, c in cases.items()} == {
        "07339:1:1": "pending",
        "07339:1:2": "cleaned",
        "07339:1:3": "cleaned",
        "07339:1:4": "cleaned",  # rejected, then a corrected record accepted
        "07339:1:5": "open",
        "07339:1:6": "cleaned",  # accepted; the national database refused it
        "07339:1:7": "cleaned",
        "07339:1:8": "open",
        "07339:1:9": "cleaned",
    }
    assert (by_name["sync_poison"]["decision"], by_name["sync_poison"]["sync_reason"]) == (
        "accepted",
        "undecodable",
    )
    assert cases["07339:1:8"]["reasons"] == ["unprocessable"]
    assert cases["07339:1:5"]["reasons"] == ["owner_unresolved"]
    assert cases["07339:1:5"]["record_id"] == ids["dead"]
