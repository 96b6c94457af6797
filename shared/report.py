"""The campaign report of CONTRACT §6: cases, targets and submissions, per commune and province.

Cases come from the ``cases`` table (kept current by intake, reconcile and sync), submissions
from one pass over the ledger; all queries read one snapshot, so the figures agree.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared import tally
from shared.cases import CaseState
from shared.daily import Day, progress
from shared.db.pool import Conn
from shared.states import Status, reasons_sql, status_condition

_SCOPE = "($1::text[] IS NULL OR commune_code = ANY($1::text[]))"
# One pass over the ledger, grouped by what the figures depend on (``shared.tally`` adds the
# groups up): a few thousand groups, where a FILTER per figure and a second pass for the
# reasons cost twice the time on 700,000 records.
_SUBMISSIONS = f"""
SELECT commune_code, decision, sync_state, corrects_record_id IS NOT NULL AS correction,
       CASE WHEN {status_condition(Status.REJECTED)} OR {status_condition(Status.DEAD_LETTERED)}
            THEN ARRAY(SELECT r ->> 'code' FROM jsonb_array_elements({reasons_sql()}) AS r)
       END AS codes,
       count(*) AS n
FROM records
WHERE {_SCOPE}
GROUP BY 1, 2, 3, 4, 5
"""  # noqa: S608 - constant expressions, no input
# One pass over the cases, the same way.
_CASES = f"""
SELECT commune_code, state, synced_at IS NOT NULL AS synced,
       CASE WHEN state = '{CaseState.OPEN}' THEN reasons END AS codes, count(*) AS n
FROM cases
WHERE state <> '{CaseState.CORRECTED}' AND {_SCOPE}
GROUP BY 1, 2, 3, 4
"""  # noqa: S608 - constant expressions, no input
_TARGETS = f"SELECT commune_code, target_plots FROM campaign_targets WHERE {_SCOPE}"  # noqa: S608


@dataclass(frozen=True)
class Window:
    """The campaign's window (``landsync campaign window``)."""

    starts_on: date
    ends_on: date

    def days_left(self, today: date) -> int:
        """Whole days from today to the window's end (0 once it has passed)."""
        return max(0, (self.ends_on - today).days)


@dataclass(frozen=True)
class Row:
    """One commune's progress, or the province's when ``commune_code`` is None."""

    commune_code: str | None
    # cases (CONTRACT §6)
    cases: int = 0
    cases_cleaned: int = 0
    cases_synced: int = 0
    cases_open: int = 0
    cases_pending: int = 0
    open_by_reason: dict[str, int] = field(default_factory=dict)
    # targets
    target_plots: int | None = None
    days_left: int | None = None
    # submissions
    received: int = 0
    accepted: int = 0  # accepted by reconciliation, whether synced yet or not
    synced: int = 0
    rejected: int = 0
    dead_lettered: int = 0  # by reconcile, or by sync (the national database refused the plot)
    duplicates: int = 0
    decided: int = 0
    corrections: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    dead_lettered_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def case_clean_rate(self) -> float | None:
        """Cases cleaned ÷ cases (the seed's 95.5 %)."""
        return self.cases_cleaned / self.cases if self.cases else None

    @property
    def case_sync_rate(self) -> float | None:
        """Cases synced ÷ cases cleaned (the seed's 84.5 %)."""
        return self.cases_synced / self.cases_cleaned if self.cases_cleaned else None

    @property
    def target_rate(self) -> float | None:
        """Cases ÷ target plots (the seed's 116 %)."""
        return self.cases / self.target_plots if self.target_plots else None

    @property
    def clean_rate(self) -> float | None:
        """Accepted ÷ decided records."""
        return self.accepted / self.decided if self.decided else None

    @property
    def sync_rate(self) -> float | None:
        """Synced ÷ accepted records."""
        return self.synced / self.accepted if self.accepted else None

    def as_dict(self) -> dict[str, Any]:
        """The row with its rates, for JSON."""
        return {
            **asdict(self),
            "case_clean_rate": self.case_clean_rate,
            "case_sync_rate": self.case_sync_rate,
            "target_rate": self.target_rate,
            "clean_rate": self.clean_rate,
            "sync_rate": self.sync_rate,
        }


def today_in(timezone: str) -> date:
    """Today's date in the campaign's time zone (``LANDSYNC_CAMPAIGN_TIMEZONE``)."""
    return datetime.now(ZoneInfo(timezone)).date()


async def window(conn: Conn) -> Window | None:
    """The campaign window, if one was set."""
    row = await conn.fetchrow("SELECT starts_on, ends_on FROM campaign_window")
    return None if row is None else Window(row["starts_on"], row["ends_on"])


async def campaign(
    conn: Conn, communes: Collection[str] | None = None, *, today: date | None = None
) -> list[Row]:
    """Per-commune rows (sorted by code) followed by the province row; only ``communes`` if given.

    With ``communes`` the last row totals those communes, not the whole province. Reads one
    snapshot: a transaction of its own unless the caller's is already open. ``today`` (in the
    campaign's time zone) gives ``days_left``.
    """
    scope = None if communes is None else sorted(communes)
    if conn.is_in_transaction():
        return await _campaign(conn, scope, today)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        return await _campaign(conn, scope, today)


async def _campaign(conn: Conn, scope: list[str] | None, today: date | None) -> list[Row]:
    sub = tally.submissions(await conn.fetch(_SUBMISSIONS, scope))
    case = tally.cases(await conn.fetch(_CASES, scope))
    targets = {r["commune_code"]: r["target_plots"] for r in await conn.fetch(_TARGETS, scope)}
    spans = await window(conn)
    days_left = spans.days_left(today or datetime.now(UTC).date()) if spans else None
    codes = sorted({*sub, *case, *targets} - {None})
    province_target = sum(targets.values()) if targets else None
    return [
        Row(
            commune_code=code,
            **case.get(code, tally.Cases()).figures(),
            **sub.get(code, tally.Submissions()).figures(),
            target_plots=targets.get(code) if code else province_target,
            days_left=days_left,
        )
        for code in [*codes, None]
    ]


@dataclass(frozen=True)
class ReportBundle:
    """What the report page shows: the rows, the days (province, each commune) and the window."""

    rows: list[Row]
    days: list[Day]
    window: Window | None
    by_commune: dict[str, list[Day]] = field(default_factory=dict)


async def report_bundle(
    conn: Conn,
    timezone: str,
    communes: Collection[str] | None = None,
    *,
    with_days: bool = True,
) -> ReportBundle:
    """The rows, the days (for the page's charts) and the window, read in one snapshot.

    ``timezone`` is the campaign's (``campaign_timezone``): its days are the report's days.
    """
    today = today_in(timezone)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        rows = await campaign(conn, communes, today=today)
        if not with_days:
            return ReportBundle(rows, [], await window(conn))
        days = await progress(conn, timezone=timezone, today=today, communes=communes)
        return ReportBundle(rows, days.days, await window(conn), days.by_commune)
