"""Renders the campaign report for the terminal (rich), CSV and JSON."""

from __future__ import annotations

import csv
import io
import json

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


def as_csv(rows: list[Row]) -> str:
    """The report as CSV, one line per commune and a ``province`` line."""
    buffer = io.StringIO()
    fields = list(rows[0].as_dict()) if rows else ["commune_code"]
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    for row in rows:
        writer.writerow({**row.as_dict(), "commune_code": row.commune_code or "province"})
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
