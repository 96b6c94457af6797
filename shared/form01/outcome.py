"""Each row's outcome after an import: status, reasons in Vietnamese and English, refused cells."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.form01.rows import Group, Parsed, RowError, located
from shared.form01.template import Template

RECEIVED = "Đã nhận / received"
ALREADY = "Đã nhận trước đó / already received"
REFUSED = "Bị từ chối / refused"


@dataclass
class RowOutcome:
    """What the annotated workbook writes on one row."""

    status: str
    reasons: list[str] = field(default_factory=list)
    columns: set[str] = field(default_factory=set)  # letters of the refused cells


def reason_text(error: RowError, headers: dict[str, str]) -> str:
    """One reason in plain Vietnamese, then the English detail."""
    where = f"cột {error.column} ({headers.get(error.column, '')})" if error.column else "dòng"
    msg = error.msg
    if error.vi:
        vi = error.vi
    elif msg.startswith("differs from row"):
        vi = f"{where} khác với dòng trước của cùng thửa"
    elif "is empty" in msg:
        vi = f"{where} bị trống"
    else:
        vi = f"{where} không hợp lệ"
    return f"{vi}: {msg}"


@dataclass
class Outcomes:
    """Row → outcome, and the per-row errors of the whole import (CONTRACT §2)."""

    rows: dict[int, RowOutcome] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)


def outcomes(parsed: Parsed, results: list[dict[str, Any]], intake_errors: list[Any]) -> Outcomes:
    """Combine the local row errors with intake's answer for the submitted records.

    ``results`` and ``intake_errors`` are intake's ``results`` and ``errors``, their ``index``
    counted over ``parsed.submitted``.
    """
    headers = {parsed.template.letter(i): c.header for i, c in enumerate(parsed.template.columns)}
    out = Outcomes(results=results)
    submitted = parsed.submitted
    for result in results:
        group = submitted[result["index"]]
        status = ALREADY if result["status"] == "duplicate_submission" else RECEIVED
        for row in group.rows:
            out.rows[row] = RowOutcome(status)
    for refused in intake_errors:
        group = submitted[refused["index"]]
        for error in refused["errors"]:
            _refuse_group(out, group, _intake_error(parsed.template, group, error))
    for error in parsed.loose:
        _refuse(out, error)
    for group in parsed.groups:
        for error in group.errors:
            _refuse_group(out, group, error)
    out.errors.sort(key=lambda e: (e.row, e.column or ""))
    for row, outcome in out.rows.items():
        outcome.reasons = [reason_text(e, headers) for e in out.errors if e.row == row]
    return out


def record_ids_by_row(parsed: Parsed, results: list[dict[str, Any]]) -> dict[int, str]:
    """Each row's record id, for the rows of the records intake took (``results``)."""
    submitted = parsed.submitted  # a list built per call: once here, not once per result
    return {row: r["record_id"] for r in results for row in submitted[r["index"]].rows}


_INTAKE_VI = {
    "forbidden_commune": "khóa API không được gửi hồ sơ của xã này",
    "submission_conflict": "mã hồ sơ đã được gửi trước đó với nội dung khác",
}


def _intake_error(template: Template, group: Group, error: dict[str, Any]) -> RowError:
    """Intake's refusal of a record, on the row and cell its field came from."""
    loc = list(error.get("loc") or [])
    msg = str(error.get("msg", "refused by intake"))
    kind = str(error.get("type"))
    if kind in _INTAKE_VI or not loc:
        vi = _INTAKE_VI.get(kind, "intake không nhận hồ sơ")
        return RowError(group.rows[0], None, ".".join(str(p) for p in loc) or None, msg, vi)
    return located(template, group, loc, msg)


def _refuse(out: Outcomes, error: RowError) -> None:
    out.errors.append(error)
    outcome = out.rows.setdefault(error.row, RowOutcome(REFUSED))
    outcome.status = REFUSED
    if error.column:
        outcome.columns.add(error.column)


def _refuse_group(out: Outcomes, group: Group, error: RowError) -> None:
    _refuse(out, error)
    for row in group.rows:  # the record's other rows are refused with it
        out.rows.setdefault(row, RowOutcome(REFUSED)).status = REFUSED
