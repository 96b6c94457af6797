"""Progress over time (CONTRACT §6): cases received, cleaned and synced per day, with totals.

A day is a calendar day in the campaign's time zone. A case counts as received on the day its
first record arrived, cleaned on the day it was first accepted, synced on the day a version of
it first reached the national database; a case closed as corrected counts nowhere.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from shared.cases import CaseState
from shared.db.pool import Conn

_DAILY = f"""
WITH events AS (
    SELECT commune_code, (received_at AT TIME ZONE $2)::date AS day, 1 AS r, 0 AS c, 0 AS s
    FROM cases WHERE state <> '{CaseState.CORRECTED}'
      AND ($1::text[] IS NULL OR commune_code = ANY($1::text[]))
    UNION ALL
    SELECT commune_code, (cleaned_at AT TIME ZONE $2)::date, 0, 1, 0
    FROM cases WHERE state = '{CaseState.CLEANED}' AND cleaned_at IS NOT NULL
      AND ($1::text[] IS NULL OR commune_code = ANY($1::text[]))
    UNION ALL
    SELECT commune_code, (synced_at AT TIME ZONE $2)::date, 0, 0, 1
    FROM cases WHERE state = '{CaseState.CLEANED}' AND synced_at IS NOT NULL
      AND ($1::text[] IS NULL OR commune_code = ANY($1::text[]))
)
SELECT day, sum(r)::int AS received, sum(c)::int AS cleaned, sum(s)::int AS synced
FROM events GROUP BY day ORDER BY day
"""  # noqa: S608 - constants only


@dataclass(frozen=True)
class Day:
    """One day of one commune (or of the province, ``commune_code`` None)."""

    date: date
    commune_code: str | None
    received: int
    cleaned: int
    synced: int
    received_total: int
    cleaned_total: int
    synced_total: int

    def as_dict(self) -> dict[str, Any]:
        """For JSON: the date as ISO text."""
        return {**asdict(self), "date": self.date.isoformat()}


async def daily(
    conn: Conn,
    *,
    timezone: str,
    today: date,
    commune: str | None = None,
    communes: Collection[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> list[Day]:
    """Every day from ``start`` to ``end`` (both included), zeros included, with running totals.

    ``commune`` gives one commune's days; otherwise the days of ``communes`` together (all
    when None), as ``commune_code`` None. Without ``start``, the first day with a case (or the
    window's start); without ``end``, today (or the last day with a case, if later).
    """
    scope = [commune] if commune is not None else None if communes is None else sorted(communes)
    rows = {r["day"]: r for r in await conn.fetch(_DAILY, scope, timezone)}
    span = await conn.fetchrow("SELECT starts_on, ends_on FROM campaign_window")
    first = min(rows, default=today)
    start = start or (min(span["starts_on"], first) if span else first)
    end = end or max(today, max(rows, default=today))
    before = [r for d, r in rows.items() if d < start]
    totals = [sum(r[k] for r in before) for k in ("received", "cleaned", "synced")]
    out: list[Day] = []
    day = start
    while day <= end:
        row = rows.get(day)
        today_counts = [row[k] if row else 0 for k in ("received", "cleaned", "synced")]
        totals = [t + n for t, n in zip(totals, today_counts, strict=True)]
        out.append(Day(day, commune, *today_counts, *totals))
        day += timedelta(days=1)
    return out
