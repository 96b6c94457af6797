"""Each reason and warning code in plain words, Vietnamese and English, and what to do about it.

For the commune's worklist: the officer correcting Form 01 reads these, not the codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Explained:
    """What a code means and what the commune (or the operator) does about it."""

    vi: str
    en: str
    action_vi: str
    action_en: str


_REPLAY_EN = "an operator replays it once the cause is fixed"
_REPLAY_VI = "cán bộ phát lại hồ sơ sau khi đã xử lý nguyên nhân"
TEXTS: dict[str, Explained] = {
    "incomplete": Explained(
        "Thiếu thông tin bắt buộc",
        "A mandatory field is missing",
        "Bổ sung các trường còn thiếu (xem chi tiết) rồi gửi lại hồ sơ",
        "Fill in the missing fields (see the detail) and submit the record again",
    ),
    "invalid_land_use": Explained(
        "Mã loại đất không hợp lệ, hoặc tổng diện tích các mục đích không bằng diện tích thửa",
        "Unknown land-use code, or the use areas do not add up to the parcel area",
        "Kiểm tra mã loại đất và diện tích từng mục đích sử dụng, rồi gửi lại",
        "Check the land-use codes and their areas, then submit again",
    ),
    "scan_name_mismatch": Explained(
        "Tên tệp quét không theo số phát hành Giấy chứng nhận",
        "The scan file is not named after the certificate serial",
        "Đặt tên tệp quét theo số phát hành GCN (ví dụ CK031112.pdf) rồi gửi lại",
        "Name the scan after the certificate serial (e.g. CK031112.pdf) and submit again",
    ),
    "certificate_not_found": Explained(
        "Không tìm thấy Giấy chứng nhận có số phát hành này",
        "No certificate with this serial",
        "Đối chiếu số phát hành với GCN gốc (xem số gợi ý nếu có) rồi gửi lại",
        "Check the serial against the certificate (see the suggested serial, if any), resubmit",
    ),
    "certificate_parcel_mismatch": Explained(
        "Giấy chứng nhận thuộc thửa đất khác",
        "The certificate exists, but for another parcel",
        "Sửa số tờ, số thửa; nếu đổi số tờ/số thửa thì ghi mã hồ sơ cũ vào trường corrects",
        "Correct the sheet or parcel number; if that changes them, put the old submission_id "
        "in `corrects`",
    ),
    "certificate_superseded": Explained(
        "Giấy chứng nhận đã bị thu hồi hoặc cấp đổi",
        "The certificate was revoked or replaced",
        "Kê khai lại theo Giấy chứng nhận mới đang có hiệu lực",
        "Submit the record again under the valid (new) certificate",
    ),
    "duplicate_conflict": Explained(
        "Thửa đất đã được duyệt với nội dung khác",
        "The parcel is already accepted with different content",
        "Đối chiếu với hồ sơ đã duyệt; nếu GCN đã cấp đổi, kê khai theo GCN mới",
        "Compare with the accepted record; if the certificate was re-issued, use the new one",
    ),
    "owner_unresolved": Explained(
        "Không xác thực được chủ sử dụng với cơ sở dữ liệu dân cư",
        "The owner is not in the population data, or name or birth date do not match",
        f"Kiểm tra họ tên, ngày sinh, số định danh của chủ sử dụng; {_REPLAY_VI}",
        f"Check the owner's name, birth date and ID; {_REPLAY_EN}",
    ),
    "owner_deceased": Explained(
        "Chủ sử dụng đã mất",
        "The registry marks the owner deceased",
        f"Xác định người thừa kế; {_REPLAY_VI}",
        f"Establish the heir; {_REPLAY_EN}",
    ),
    "owner_absent": Explained(
        "Chủ sử dụng vắng mặt khi thu thập",
        "The owner was absent when the form was collected",
        f"Liên hệ chủ sử dụng để thu thập lại; {_REPLAY_VI}",
        f"Contact the owner and collect the documents again; {_REPLAY_EN}",
    ),
    "holder_mismatch": Explained(
        "Chủ sử dụng không đứng tên trên Giấy chứng nhận",
        "The owner is verified, but not a holder on that certificate",
        "Kiểm tra người đứng tên trên GCN và kê khai đúng người",
        "Check who holds the certificate and name the right owners",
    ),
    "mortgaged": Explained(
        "Thửa đất đang thế chấp, hoặc Giấy chứng nhận do ngân hàng giữ",
        "Active mortgage registered, or the certificate is held by a bank",
        f"Phối hợp với ngân hàng; khi đã giải chấp, {_REPLAY_VI}",
        f"Work with the bank; once the mortgage is released, {_REPLAY_EN}",
    ),
    "sync_rejected": Explained(
        "Cơ sở dữ liệu đất đai quốc gia từ chối hồ sơ",
        "The national land database refused it",
        f"Cán bộ kiểm tra lỗi (xem chi tiết); {_REPLAY_VI}",
        f"Operators check the error (see the detail); {_REPLAY_EN}",
    ),
    "sync_exhausted": Explained(
        "Chưa gửi được sang cơ sở dữ liệu quốc gia sau nhiều lần thử",
        "Sending to the national database failed every time",
        "Cán bộ phát lại khi cơ sở dữ liệu quốc gia hoạt động trở lại",
        "An operator replays it once the national database answers again",
    ),
    "duplicate": Explained(
        "Trùng với hồ sơ đã được duyệt",
        "Identical to an already accepted record",
        "Không cần làm gì",
        "Nothing to do",
    ),
    "unprocessable": Explained(
        "Hệ thống không xử lý được hồ sơ",
        "The system could not process the record",
        "Báo cán bộ kỹ thuật của tỉnh",
        "Tell the province's operators",
    ),
    "id_prefix_mismatch": Explained(
        "Số định danh không khớp năm sinh hoặc giới tính (chỉ cảnh báo)",
        "The ID's century, sex or year digits disagree with the birth date or sex (a warning)",
        "Kiểm tra lại ngày sinh, giới tính",
        "Check the birth date and sex",
    ),
    "name_variant": Explained(
        "Họ tên chỉ khớp sau khi bỏ dấu hoặc sửa lỗi nhỏ (chỉ cảnh báo)",
        "The name matched only without diacritics or after a small typo (a warning)",
        "Kiểm tra chính tả họ tên",
        "Check the spelling of the name",
    ),
    "id_recovered": Explained(
        "Không có số định danh hợp lệ; đã khớp theo họ tên và ngày sinh (chỉ cảnh báo)",
        "No usable ID: matched uniquely by name and birth date (a warning)",
        "Bổ sung số định danh nếu có",
        "Add the personal ID if there is one",
    ),
    "supersedes_previous": Explained(
        "Cập nhật thửa đất theo Giấy chứng nhận mới",
        "The parcel's next version, under the certificate that replaced the old one",
        "Không cần làm gì",
        "Nothing to do",
    ),
}
_UNKNOWN = Explained("Lý do khác", "Another reason", "Xem chi tiết", "See the detail")


def explain(finding: dict[str, Any]) -> dict[str, Any]:
    """A ``{"code", "detail"}`` finding with its words: ``text_vi``, ``text_en``, and what to do."""
    words = TEXTS.get(str(finding.get("code")), _UNKNOWN)
    return {
        "code": finding.get("code"),
        "detail": finding.get("detail") or "",
        "text_vi": words.vi,
        "text_en": words.en,
        "action_vi": words.action_vi,
        "action_en": words.action_en,
    }
