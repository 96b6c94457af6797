"""Reconciliation's decisions written into an import's rows, in Vietnamese and English."""

from __future__ import annotations

import re
from typing import Any

from shared.form01.outcome import Outcomes, RowOutcome
from shared.form01.rows import column_of
from shared.form01.template import Template

STATUS = {
    "accepted": "Đã chấp nhận / accepted",
    "synced": "Đã cập nhật CSDL quốc gia / synced",
    "rejected": "Bị trả lại / rejected",
    "dead_lettered": "Chờ xử lý / dead-lettered",
    "duplicate": "Trùng hồ sơ đã chấp nhận / duplicate",
}
REASON_VI = {
    "incomplete": "thiếu thông tin bắt buộc",
    "invalid_land_use": "mục đích sử dụng đất hoặc diện tích không hợp lệ",
    "scan_name_mismatch": "tên tệp quét không theo số phát hành GCN",
    "certificate_not_found": "không tìm thấy GCN có số phát hành này",
    "certificate_parcel_mismatch": "GCN thuộc thửa khác",
    "certificate_superseded": "GCN đã bị thu hồi hoặc thay thế",
    "duplicate_conflict": "thửa đã được chấp nhận với nội dung khác",
    "owner_unresolved": "không xác thực được chủ sử dụng với CSDL dân cư",
    "owner_deceased": "chủ sử dụng đã chết: cần xác định người thừa kế",
    "owner_absent": "chủ sử dụng vắng mặt",
    "holder_mismatch": "chủ sử dụng không có tên trên GCN",
    "mortgaged": "đang thế chấp hoặc ngân hàng giữ GCN",
    "sync_rejected": "CSDL quốc gia từ chối",
    "sync_exhausted": "đồng bộ CSDL quốc gia thất bại",
    "duplicate": "trùng với hồ sơ đã chấp nhận",
}


def stored_rows(out: Outcomes, record_ids: dict[int, str]) -> list[dict[str, Any]]:
    """The rows as the ``imports`` table keeps them."""
    return [
        {
            "row": row,
            "record_id": record_ids.get(row),
            "status": o.status,
            "reasons": o.reasons,
            "columns": sorted(o.columns),
        }
        for row, o in sorted(out.rows.items())
    ]


def reason_line(reason: dict[str, Any]) -> str:
    """A decision's reason in Vietnamese, then its code and detail."""
    code = str(reason.get("code", ""))
    detail = reason.get("detail")
    vi = REASON_VI.get(code, code)
    return f"{vi}: {code}" + (f" ({detail})" if detail else "")


#: The fields a rejection is about (incomplete's are in its detail): their cells are filled as a
#: refused cell's are, so the commune sees what to correct.
_FIELDS = {
    "certificate_not_found": ("certificate.serial",),
    "certificate_superseded": ("certificate.serial",),
    "certificate_parcel_mismatch": ("certificate.serial", "parcel.map_sheet", "parcel.parcel_no"),
    "scan_name_mismatch": ("scan_file",),
}
_OWNER = re.compile(r"^owners\[(\d+)\]\.")


def _fields(reason: dict[str, Any]) -> list[str]:
    code, detail = reason.get("code"), str(reason.get("detail") or "")
    if code == "incomplete" and detail.startswith("missing: "):
        return detail.removeprefix("missing: ").split(", ")
    return list(_FIELDS.get(str(code), ()))


def _columns(template: Template, reasons: list[dict[str, Any]], owner: int) -> set[str]:
    """The letters of the fields the reasons name, on the row of the record's ``owner``-th owner."""
    letters = set()
    for path in (p for r in reasons for p in _fields(r)):
        match = _OWNER.match(path)
        if (int(match.group(1)) if match else 0) != owner:
            continue  # another owner's row; a record's own field is filled on its first row
        if letter := column_of(template, path):
            letters.add(letter)
    return letters


def with_decisions(
    rows: list[dict[str, Any]], decisions: dict[str, dict[str, Any]], template: Template
) -> Outcomes:
    """The stored rows, with each record's current decision where it has one.

    A rejection's fields are marked as refused cells are: an owner's on that owner's row (a
    record's rows are its owners, in sheet order), the record's own on its first row.
    """
    out = Outcomes()
    seen: dict[str, int] = {}  # record id → its rows so far
    for stored in sorted(rows, key=lambda r: r["row"]):
        outcome = RowOutcome(stored["status"], list(stored["reasons"]), set(stored["columns"]))
        record_id = stored.get("record_id") or ""
        decision = decisions.get(record_id)
        if decision and decision["status"] in STATUS:
            outcome.status = STATUS[decision["status"]]
            outcome.reasons = [reason_line(r) for r in decision["reasons"]]
            if decision["status"] == "rejected":
                owner = seen.get(record_id, 0)
                outcome.columns |= _columns(template, decision["reasons"], owner)
        if record_id:
            seen[record_id] = seen.get(record_id, 0) + 1
        out.rows[stored["row"]] = outcome
    return out
