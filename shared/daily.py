"""Progress over time (CONTRACT §6): cases received, cleaned and synced per day, with totals.

A day is a calendar day in the campaign's time zone. A case counts as received on the day its
first record arrived, cleaned on the day it was first accepted, synced on the day a version of
it first reached the national database; a case closed as corrected counts nowhere.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import asyncpg

from shared.cases import CaseState
from shared.db.pool import Conn

_SCOPE = "($1::text[] IS NULL OR commune_code = ANY($1::text[]))"
# Each case gives up to three events (received, cleaned, synced) per day and commune.
_EVENTS = f"""
SELECT commune_code, (received_at AT TIME ZONE $2)::date AS day, 1 AS r, 0 AS c, 0 AS s
FROM cases WHERE state <> '{CaseState.CORRECTED}' AND {_SCOPE}
UNION ALL
SELECT commune_code, (cleaned_at AT TIME ZONE $2)::date, 0, 1, 0
FROM cases WHERE state = '{CaseState.CLEANED}' AND cleaned_at IS NOT NULL AND {_SCOPE}
UNION ALL
SELECT commune_code, (synced_at AT TIME ZONE $2)::date, 0, 0, 1
FROM cases WHERE state = '{CaseState.CLEANED}' AND synced_at IS NOT NULL AND {_SCOPE}
"""  # noqa: S608 - constants only
_DAILY = f"""
SELECT day, sum(r)::int AS received, sum(c)::int AS cleaned, sum(s)::int AS synced
FROM ({_EVENTS}) AS events GROUP BY day
"""  # noqa: S608 - constants only
_DAILY_BY_COMMUNE = f"""
SELECT commune_code, day,
       sum(r)::int AS received, sum(c)::int AS cleaned, sum(s)::int AS synced
FROM ({_EVENTS}) AS events GROUP BY commune_code, day
"""  # noqa: S608 - constants only
_FIGURES = ("received", "cleaned", "synced")
Counts = tuple[int, int, int]  # received, cleaned, synced on one day


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


#: The longest span of days one report shows: ten years, far beyond any campaign. A span to
#: the year 8236 (a fuzzer's) would be millions of rows, built while the request waits.
MAX_DAYS = 3_660


class SpanTooLongError(ValueError):
    """The days asked for are more than :data:`MAX_DAYS`."""


def series(counts: Mapping[date, Counts], commune: str | None, start: date, end: date) -> list[Day]:
    """Every day from ``start`` to ``end``, zeros included; totals include the days before."""
    totals = [sum(c[i] for d, c in counts.items() if d < start) for i in range(3)]
    out: list[Day] = []
    day = start
    while day <= end:
        today_counts = counts.get(day, (0, 0, 0))
        totals = [t + n for t, n in zip(totals, today_counts, strict=True)]
        out.append(Day(day, commune, *today_counts, *totals))
        day += timedelta(days=1)
    return out


def _span(
    days: Iterable[date],
    today: date,
    window: Any,  # noqa: ANN401 - the ledger's window row
    start: date | None,
    end: date | None,
) -> tuple[date, date]:
    """The days to show: ``start``/``end``, else the days with cases, today and the window."""
    seen = list(days)
    first = min(seen, default=today)
    start = start or (min(window["starts_on"], first) if window else first)
    return start, end or max(today, max(seen, default=today))


def _counts(row: asyncpg.Record) -> Counts:
    return row["received"], row["cleaned"], row["synced"]


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
    window's start); without ``end``, today (or the last day with a case, if later). Raises
    :class:`SpanTooLongError` beyond :data:`MAX_DAYS` days.
    """
    scope = [commune] if commune is not None else None if communes is None else sorted(communes)
    rows = {r["day"]: _counts(r) for r in await conn.fetch(_DAILY, scope, timezone)}
    window = await conn.fetchrow("SELECT starts_on, ends_on FROM campaign_window")
    first, last = _span(rows, today, window, start, end)
    if (days := (last - first).days + 1) > MAX_DAYS:
        raise SpanTooLongError(
            f"a daily report shows at most {MAX_DAYS:,} days; {first} to {last} is {days:,}:"
            " give a nearer `from` and `to`"
        )
    return series(rows, commune, first, last)


@dataclass(frozen=True)
class Progress:
    """The days of the province (or of ``communes`` together) and of each commune, one span."""

    days: list[Day]
    by_commune: dict[str, list[Day]]


async def progress(
    conn: Conn, *, timezone: str, today: date, communes: Collection[str] | None = None
) -> Progress:
    """The province's days and each commune's, from one pass over ``cases``.

    The span is :func:`daily`'s, the same for every commune, so their charts line up.
    """
    scope = None if communes is None else sorted(communes)
    per: dict[str, dict[date, Counts]] = {}
    whole: dict[date, list[int]] = {}
    for r in await conn.fetch(_DAILY_BY_COMMUNE, scope, timezone):
        per.setdefault(r["commune_code"], {})[r["day"]] = _counts(r)
        before = whole.get(r["day"], [0, 0, 0])
        whole[r["day"]] = [a + b for a, b in zip(before, _counts(r), strict=True)]
    window = await conn.fetchrow("SELECT starts_on, ends_on FROM campaign_window")
    start, end = _span(whole, today, window, None, None)
    province = {d: (c[0], c[1], c[2]) for d, c in whole.items()}
    return Progress(
        series(province, None, start, end),
        {code: series(per[code], code, start, end) for code in sorted(per)},
    )
