"""Renders the campaign report for the terminal (rich), CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from rich.table import Table

from shared.daily import Day
from shared.reasons import REJECTING, PoisonReason, Reason
from shared.report import Row
from shared.synthetic import communes


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
    names = dict(communes())
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


# The reason columns of the CSV, in CONTRACT §4's order: every code each count can hold, so the
# columns are the same whatever the data (a spreadsheet's formulas point at them).
_REJECTED_CODES = [r.value for r in Reason if r in REJECTING]
_DEAD_LETTERED_CODES = [
    *(r.value for r in Reason if r not in REJECTING and r is not Reason.DUPLICATE),
    *(r.value for r in PoisonReason),
]
_REASON_COLUMNS = {
    "open": [*_REJECTED_CODES, *_DEAD_LETTERED_CODES],
    "rejected": _REJECTED_CODES,
    "dead_lettered": _DEAD_LETTERED_CODES,
}
#: Every column of the report's CSV, in order.
CSV_COLUMNS = (
    "commune_code",
    "commune_name",
    *(k for k in Row(None).as_dict() if k != "commune_code" and not k.endswith("_by_reason")),
    *(f"{what}:{code}" for what, codes in _REASON_COLUMNS.items() for code in [*codes, "other"]),
)


def _flat(row: Row, names: dict[str, str]) -> dict[str, Any]:
    flat = {k: v for k, v in row.as_dict().items() if not k.endswith("_by_reason")}
    flat["commune_code"] = row.commune_code or "province"
    flat["commune_name"] = names.get(row.commune_code, "") if row.commune_code else ""
    for what, counts in (
        ("open", row.open_by_reason),
        ("rejected", row.rejected_by_reason),
        ("dead_lettered", row.dead_lettered_by_reason),
    ):
        known = _REASON_COLUMNS[what]
        flat.update({f"{what}:{code}": counts.get(code, 0) for code in known})
        # A code outside the list (a newer one) is counted, not dropped, and moves no column.
        flat[f"{what}:other"] = sum(n for code, n in counts.items() if code not in known)
    return flat


def as_csv(rows: list[Row]) -> str:
    """The report as CSV: one line per commune and a ``province`` line, always CSV_COLUMNS."""
    names = dict(communes())
    buffer = io.StringIO()
    # A missing figure (no target, no window) is an empty cell.
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(_flat(r, names) for r in rows)
    return buffer.getvalue()


def as_json(rows: list[Row]) -> str:
    """The report as JSON: ``{"communes": [...], "province": {...}}``."""
    province = next((r.as_dict() for r in rows if r.commune_code is None), None)
    return json.dumps(
        {
            "communes": [r.as_dict() for r in rows if r.commune_code is not None],
            "province": province,
        },
        ensure_ascii=False,
    )


def daily_csv(days: list[Day]) -> str:
    """Daily figures as CSV, one line a day."""
    buffer = io.StringIO()
    fields = list(Day.__dataclass_fields__)
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows({**d.as_dict(), "commune_code": d.commune_code or "province"} for d in days)
    return buffer.getvalue()


def daily_json(days: list[Day]) -> str:
    """Daily figures as CONTRACT §6's JSON: ``{"days": [...]}``."""
    return json.dumps({"days": [d.as_dict() for d in days]}, ensure_ascii=False)


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
