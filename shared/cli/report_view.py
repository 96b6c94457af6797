"""Renders the campaign report for the terminal (rich), CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from rich.table import Table

from shared.report import Row
from shared.synthetic import communes


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def table(rows: list[Row]) -> Table:
    """The report as a rich table, with commune names and the province total last."""
    names = dict(communes())
    out = Table(title="Campaign progress", title_justify="left")
    for column in ("commune", "received", "accepted", "synced", "rejected", "dead-lettered"):
        out.add_column(column, justify="left" if column == "commune" else "right")
    out.add_column("duplicates", justify="right")
    out.add_column("clean rate", justify="right")
    out.add_column("sync rate", justify="right")
    for row in rows:
        label = (
            "[bold]Province[/]"
            if row.commune_code is None
            else f"{row.commune_code} {names.get(row.commune_code, '')}"
        )
        out.add_row(
            label,
            f"{row.received:,}",
            f"{row.accepted:,}",
            f"{row.synced:,}",
            f"{row.rejected:,}",
            f"{row.dead_lettered:,}",
            f"{row.duplicates:,}",
            _rate(row.clean_rate),
            _rate(row.sync_rate),
            end_section=row.commune_code is not None and row is rows[-2],
        )
    return out


def reasons_table(rows: list[Row]) -> Table:
    """The province's rejected and dead-lettered records by reason."""
    province = next((r for r in rows if r.commune_code is None), None)
    out = Table(title="Not through, by reason (a record may have several)", title_justify="left")
    out.add_column("outcome")
    out.add_column("reason")
    out.add_column("records", justify="right")
    if province is not None:
        for outcome, counts in (
            ("rejected", province.rejected_by_reason),
            ("dead-lettered", province.dead_lettered_by_reason),
        ):
            for code, n in sorted(counts.items(), key=lambda kv: -kv[1]):
                out.add_row(outcome, code, f"{n:,}")
    return out


def _flat(row: Row) -> dict[str, Any]:
    flat = {k: v for k, v in row.as_dict().items() if not k.endswith("_by_reason")}
    flat["commune_code"] = row.commune_code or "province"
    flat.update({f"rejected:{c}": n for c, n in row.rejected_by_reason.items()})
    flat.update({f"dead_lettered:{c}": n for c, n in row.dead_lettered_by_reason.items()})
    return flat


def as_csv(rows: list[Row]) -> str:
    """The report as CSV, one line per commune and a ``province`` line; a column per reason."""
    flats = [_flat(r) for r in rows]
    fields: list[str] = []
    for flat in flats:
        fields += [k for k in flat if k not in fields]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields or ["commune_code"], restval=0)
    writer.writeheader()
    writer.writerows(flats)
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
