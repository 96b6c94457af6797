"""Renders the campaign report for the terminal (rich), CSV and JSON."""

from __future__ import annotations

from rich.table import Table

from shared.communes import commune_names
from shared.daily import Day
from shared.report import Row


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


_COLUMNS = (
    "commune", "cases", "cleaned", "open", "case clean rate", "case sync rate", "target",
    "of target", "received", "rejected", "dead-lettered", "duplicates", "corrections",
    "clean rate", "sync rate",
)  # fmt: skip


def table(rows: list[Row]) -> Table:
    """The report as a rich table, with commune names and the province total last."""
    names = commune_names()
    province = rows[-1] if rows else None
    left = (
        ""
        if province is None or province.days_left is None
        else f" · {province.days_left} days left"
    )
    out = Table(title=f"Campaign progress{left}", title_justify="left")
    for column in _COLUMNS:
        out.add_column(column, justify="left" if column == "commune" else "right")
    for row in rows:
        label = (
            "[bold]Province[/]"
            if row.commune_code is None
            else f"{row.commune_code} {names.get(row.commune_code, '')}"
        )
        out.add_row(
            label,
            _count(row.cases),
            _count(row.cases_cleaned),
            _count(row.cases_open),
            _rate(row.case_clean_rate),
            _rate(row.case_sync_rate),
            _count(row.target_plots),
            _rate(row.target_rate),
            _count(row.received),
            _count(row.rejected),
            _count(row.dead_lettered),
            _count(row.duplicates),
            _count(row.corrections),
            _rate(row.clean_rate),
            _rate(row.sync_rate),
            end_section=row.commune_code is not None and len(rows) > 1 and row is rows[-2],
        )
    return out


def reasons_table(rows: list[Row]) -> Table:
    """The province's open cases, rejected and dead-lettered records, by reason."""
    province = next((r for r in rows if r.commune_code is None), None)
    out = Table(
        title="Not through, by reason (a record or case may have several)", title_justify="left"
    )
    out.add_column("what")
    out.add_column("reason")
    out.add_column("count", justify="right")
    if province is not None:
        for what, counts in (
            ("open cases", province.open_by_reason),
            ("rejected records", province.rejected_by_reason),
            ("dead-lettered records", province.dead_lettered_by_reason),
        ):
            for code, n in sorted(counts.items(), key=lambda kv: -kv[1]):
                out.add_row(what, code, f"{n:,}")
    return out


def daily_table(days: list[Day]) -> Table:
    """Daily figures for the terminal."""
    where = days[0].commune_code if days else None
    out = Table(title=f"Cases per day · {where or 'province'}", title_justify="left")
    for column in ("date", "received", "cleaned", "synced", "received total", "cleaned total",
                   "synced total"):  # fmt: skip
        out.add_column(column, justify="left" if column == "date" else "right")
    for d in days:
        out.add_row(
            d.date.isoformat(),
            *(f"{n:,}" for n in (d.received, d.cleaned, d.synced)),
            *(f"{n:,}" for n in (d.received_total, d.cleaned_total, d.synced_total)),
        )
    return out
