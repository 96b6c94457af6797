"""Reconciliation's decisions written into an import's rows, in Vietnamese and English."""

from __future__ import annotations

from typing import Any

from shared.form01.outcome import Outcomes, RowOutcome

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


def with_decisions(rows: list[dict[str, Any]], decisions: dict[str, dict[str, Any]]) -> Outcomes:
    """The stored rows, with each record's current decision where it has one."""
    out = Outcomes()
    for stored in rows:
        outcome = RowOutcome(stored["status"], list(stored["reasons"]), set(stored["columns"]))
        decision = decisions.get(stored.get("record_id") or "")
        if decision and decision["status"] in STATUS:
            outcome.status = STATUS[decision["status"]]
            outcome.reasons = [reason_line(r) for r in decision["reasons"]]
        out.rows[stored["row"]] = outcome
    return out
