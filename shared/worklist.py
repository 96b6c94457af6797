"""The correction worklist of CONTRACT §2: a commune's decided records, keyset-paginated.

Ordered by (decided_at, record_id), newest decision last: a page starts after the last row of
the one before, so rows decided meanwhile never shift or repeat what was already read. With
``open_only`` (the default) a row is listed only while it is its case's latest decision and the
case is open: a corrected case drops off.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from shared.cases import CaseState
from shared.db.pool import Conn
from shared.reason_text import TEXTS, explain
from shared.states import DECIDED_STATUSES, Status, reasons_sql, status_condition, status_sql

MAX_LIMIT = 1000


class BadCursorError(ValueError):
    """The cursor is not one this service gave out."""


@dataclass(frozen=True)
class Query:
    """The worklist's filters (None: any)."""

    communes: Collection[str] | None  # what the caller may and wants to see
    status: Status | None = None
    reason: str | None = None
    since: datetime | None = None
    open_only: bool = True
    limit: int = 100
    cursor: str | None = None


def check(query: Query) -> None:
    """Refuse what cannot match: a status never listed, an unknown reason, a bad limit."""
    if query.status is not None and query.status not in DECIDED_STATUSES:
        msg = f"status must be one of {', '.join(sorted(DECIDED_STATUSES))}"
        raise ValueError(msg)
    if query.reason is not None and query.reason not in TEXTS:
        msg = f"unknown reason code {query.reason!r}"
        raise ValueError(msg)
    if not 1 <= query.limit <= MAX_LIMIT:
        msg = f"limit must be 1 to {MAX_LIMIT}"
        raise ValueError(msg)
    decode_cursor(query.cursor)


def encode_cursor(decided_at: datetime, record_id: UUID) -> str:
    """An opaque cursor after this row."""
    raw = orjson.dumps([decided_at.isoformat(), str(record_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, UUID] | None:
    """The row a cursor points after."""
    if cursor is None:
        return None
    try:
        stamp, record_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(stamp), UUID(record_id)
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError) as exc:
        raise BadCursorError("not a worklist cursor") from exc


def _sql(query: Query) -> str:
    status = "true" if query.status is None else status_condition(query.status, "r.")
    join = (
        f"JOIN cases c ON c.parcel_key = r.parcel_key AND c.record_id = r.record_id"
        f" AND c.state = '{CaseState.OPEN}'"
        if query.open_only
        else ""
    )
    return f"""
SELECT r.record_id, r.submission_id, r.commune_code, r.parcel_key,
       r.record -> 'certificate' ->> 'serial' AS certificate_serial,
       {status_sql("r.")} AS status, {reasons_sql("r.")} AS reasons, r.warnings,
       r.received_at, r.decided_at, r.corrects_record_id
FROM records r {join}
WHERE r.decided_at IS NOT NULL
  AND ($1::text[] IS NULL OR r.commune_code = ANY($1::text[]))
  AND {status}
  AND ($2::text IS NULL OR r.reasons @> jsonb_build_array(jsonb_build_object('code', $2::text))
       OR r.sync_reason = $2::text)
  AND ($3::timestamptz IS NULL OR r.decided_at >= $3::timestamptz)
  AND ($4::timestamptz IS NULL OR (r.decided_at, r.record_id) > ($4::timestamptz, $5::uuid))
ORDER BY r.decided_at, r.record_id
LIMIT $6
"""  # noqa: S608 - built from enums and constants; every value is a parameter


def _item(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "record_id": str(row["record_id"]),
        "submission_id": row["submission_id"],
        "commune_code": row["commune_code"],
        "parcel_key": row["parcel_key"],
        "certificate_serial": row["certificate_serial"],
        "status": row["status"],
        "reasons": [explain(r) for r in row["reasons"]],
        "warnings": [explain(w) for w in row["warnings"]],
        "received_at": row["received_at"].isoformat(),
        "decided_at": row["decided_at"].isoformat(),
        "corrects_record_id": (
            str(row["corrects_record_id"]) if row["corrects_record_id"] else None
        ),
    }


async def page(conn: Conn, query: Query) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the worklist and the cursor of the next (None after the last)."""
    after = decode_cursor(query.cursor)
    scope = None if query.communes is None else sorted(query.communes)
    rows = await conn.fetch(
        _sql(query),
        scope,
        query.reason,
        query.since,
        after[0] if after else None,
        after[1] if after else None,
        query.limit + 1,  # one more tells whether there is a next page
    )
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    cursor = encode_cursor(rows[-1]["decided_at"], rows[-1]["record_id"]) if more else None
    return [_item(r) for r in rows], cursor


async def every_item(conn: Conn, query: Query) -> AsyncIterator[dict[str, Any]]:
    """Every row of the worklist, page by page (an export)."""
    cursor = query.cursor
    while True:
        items, cursor = await page(conn, _with_cursor(query, cursor))
        for item in items:
            yield item
        if cursor is None:
            return


def _with_cursor(query: Query, cursor: str | None) -> Query:
    return Query(
        query.communes,
        query.status,
        query.reason,
        query.since,
        query.open_only,
        query.limit,
        cursor,
    )
