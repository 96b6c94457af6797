"""The campaign report as files: CSV and JSON of the report and of its daily figures.

Shared by the API (``GET /v1/reports/campaign``) and the CLI (``landsync report``); the
terminal's tables are the CLI's own (``shared/cli/report_view.py``).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from shared.communes import commune_names
from shared.daily import Day
from shared.reasons import REJECTING, PoisonReason, Reason
from shared.report import Row

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
    names = commune_names()
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
