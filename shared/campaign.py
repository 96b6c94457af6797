"""The campaign's targets and window: what the province asked of each commune, and by when."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date

from shared.db.pool import Conn

_COMMUNE = re.compile(r"^[0-9]{5}$")
COLUMNS = ("commune_code", "target_plots")


class UnusableTargetsError(ValueError):
    """The file is not a targets CSV (a column is missing)."""


@dataclass
class Targets:
    """A parsed targets file: the good rows (the last of a repeated commune wins), the bad lines."""

    rows: dict[str, int] = field(default_factory=dict)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (line number, why)


def parse_targets(text: str) -> Targets:
    """``commune_code,target_plots`` with a header row (CONTRACT §6)."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or any(c not in reader.fieldnames for c in COLUMNS):
        raise UnusableTargetsError(f"the header must name {', '.join(COLUMNS)}")
    out = Targets()
    for line, row in enumerate(reader, start=2):
        code, plots = ((row.get(c) or "").strip() for c in COLUMNS)
        if not _COMMUNE.match(code):
            out.refused.append((line, "commune_code is not a 5-digit code"))
        elif not plots.isdigit() or int(plots) <= 0:
            out.refused.append((line, "target_plots is not a positive whole number"))
        else:
            out.rows[code] = int(plots)
    return out


async def load_targets(conn: Conn, targets: Targets) -> int:
    """Upsert the targets and return how many were written.

    Communes absent from the file keep theirs: a file is an update, like the registry loads.
    """
    await conn.execute(
        "INSERT INTO campaign_targets (commune_code, target_plots)"
        " SELECT * FROM unnest($1::text[], $2::int[])"
        " ON CONFLICT (commune_code) DO UPDATE"
        " SET target_plots = EXCLUDED.target_plots, updated_at = now()",
        list(targets.rows),
        list(targets.rows.values()),
    )
    return len(targets.rows)


async def set_window(conn: Conn, starts_on: date, ends_on: date) -> None:
    """Set (or move) the campaign window."""
    if ends_on < starts_on:
        msg = "the window ends before it starts"
        raise ValueError(msg)
    await conn.execute(
        "INSERT INTO campaign_window (starts_on, ends_on) VALUES ($1, $2)"
        " ON CONFLICT (only_one) DO UPDATE"
        " SET starts_on = EXCLUDED.starts_on, ends_on = EXCLUDED.ends_on, updated_at = now()",
        starts_on,
        ends_on,
    )
