"""The Form 01 template versions, column by column: what docs, reader and writer all use."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from openpyxl.utils import get_column_letter

#: How a cell is read. ``id12``/``id9``/``code5``: digit strings whose leading zeros matter.
Kind = Literal["text", "code5", "id12", "id9", "date", "int", "area", "enum"]
#: Where the value goes: the record, the owner of the row, or nowhere (kept in the sheet only).
Level = Literal["record", "owner", "sheet"]
#: Who insists on the value: intake refuses the row without it (``import``), reconciliation
#: rejects the record as ``incomplete`` (``reconcile``), or nobody (``no``).
Mandatory = Literal["import", "reconcile", "no"]

SEX = (("male", "Nam"), ("female", "Nữ"))
HOLDER_TYPE = (
    ("individual", "Cá nhân"),
    ("household", "Hộ gia đình"),
    ("couple", "Vợ chồng"),
    ("co_users", "Nhóm người sử dụng chung"),
    ("organization", "Tổ chức"),
)
ROLE = (
    ("individual", "Cá nhân"),
    ("head_of_household", "Chủ hộ"),
    ("husband", "Chồng"),
    ("wife", "Vợ"),
    ("representative", "Đại diện"),
    ("member", "Thành viên"),
)
COLLECTION_STATUS = (
    ("supplied", "Đã cung cấp hồ sơ"),
    ("lost_or_mortgaged", "Mất GCN hoặc ngân hàng giữ (thế chấp)"),
    ("procedure_pending", "Đang làm thủ tục"),
    ("owner_deceased", "Chủ sử dụng đã chết"),
    ("owner_absent", "Chủ sử dụng vắng mặt"),
    ("not_cooperating", "Không hợp tác"),
)
USE_FORM = (("private", "Sử dụng riêng"), ("shared", "Sử dụng chung"))
#: The 2024 land-use codes (Circular 08/2024) offered in the drop-down; other codes may be typed.
LAND_USE_CODES = (
    *("ONT", "ODT", "LUC", "LUK", "HNK", "CLN", "RSX", "RPH", "RDD", "NTS", "CNT", "LMU", "NKH"),
    *("TMD", "SKC", "DGT", "DTL", "TON", "TIN", "NTD", "SON", "MNC", "BCS", "DCS", "NCS"),
)


#: The two columns the annotated workbook adds after the form's last one. A file that has them
#: (the commune fixed the annotated copy) imports again: they are read as notes, not as data.
STATUS_HEADER = "Trạng thái / Status"
REASONS_HEADER = "Lý do / Reasons"


@dataclass(frozen=True)
class Column:
    """One column of a template version."""

    key: str  # stable name of the column, the same in every version
    header: str  # the Vietnamese header as printed
    english: str
    field: str | None  # the record field it fills (``owners[].x`` for the row's owner)
    kind: Kind
    mandatory: Mandatory = "no"
    choices: tuple[tuple[str, str], ...] = ()  # (record value, Vietnamese label)
    closed: bool = True  # an enumeration whose drop-down refuses other values

    @property
    def level(self) -> Level:
        """Whether the column belongs to the record, to the row's owner, or to the sheet only."""
        if self.field is None:
            return "sheet"
        return "owner" if self.field.startswith("owners[]") else "record"


def _use(n: int) -> list[Column]:
    f = f"parcel.land_uses[{n - 1}]"
    first: Mandatory = "reconcile" if n == 1 else "no"
    return [
        Column(
            f"use{n}_code", f"Mục đích sử dụng {n} (mã)", f"Land use {n}: code", f"{f}.code",
            "text", first, tuple((c, c) for c in LAND_USE_CODES), closed=False,
        ),
        Column(
            f"use{n}_area", f"Diện tích mục đích {n} (m²)", f"Land use {n}: area (m²)",
            f"{f}.area_m2", "area", first,
        ),
        Column(f"use{n}_origin", f"Nguồn gốc sử dụng {n}", f"Land use {n}: origin",
               f"{f}.origin", "text"),
        Column(f"use{n}_form", f"Hình thức sử dụng {n}", f"Land use {n}: form (private or shared)",
               None, "enum", choices=USE_FORM),
        Column(f"use{n}_term", f"Thời hạn sử dụng {n}", f"Land use {n}: term",
               f"{f}.term", "text"),
    ]  # fmt: skip


_ASSETS = [
    Column("asset_type", "Loại tài sản gắn liền với đất", "Asset on the land: type", None, "text"),
    Column("asset_built_area", "Diện tích xây dựng (m²)", "Asset: built area (m²)", None, "area"),
    Column("asset_floor_area", "Diện tích sàn (m²)", "Asset: floor area (m²)", None, "area"),
    Column("asset_structure", "Kết cấu", "Asset: structure", None, "text"),
    Column("asset_floors", "Số tầng", "Asset: floors", None, "int"),
    Column("asset_year", "Năm hoàn thành xây dựng", "Asset: year completed", None, "int"),
]
_CURRENT_USER = [
    Column("current_name", "Người đang sử dụng (nếu khác)", "Current user, if different",
           None, "text"),
    Column("current_id", "Số CCCD người đang sử dụng", "Current user's personal ID",
           None, "id12"),
    Column("current_address", "Địa chỉ người đang sử dụng", "Current user's address",
           None, "text"),
    Column("change_reason", "Lý do thay đổi", "Reason for the change", None, "text"),
]  # fmt: skip
_ORG_ID = Column(
    "org_id", "Mã số tổ chức (mã số thuế)", "Organisation's ID (tax code)", None, "text"
)


def _columns(*, org_id: bool, current_user: bool, assets: bool) -> tuple[Column, ...]:
    c = Column
    return (
        c("commune_code", "Mã xã", "Commune code", "commune_code", "code5", "import"),
        c("old_commune_code", "Mã xã cũ (trên GCN)", "Old commune code (on the certificate)",
          "parcel.old_commune_code", "code5"),
        c("serial", "Số phát hành GCN", "Certificate serial", "certificate.serial",
          "text", "reconcile"),
        c("issued_on", "Ngày cấp GCN", "Certificate issue date", "certificate.issued_on",
          "date", "reconcile"),
        c("book_number", "Số vào sổ cấp GCN", "Certificate book number",
          "certificate.book_number", "text"),
        c("org_name", "Tên tổ chức", "Organisation's name", None, "text"),
        *([_ORG_ID] if org_id else []),
        c("holder_type", "Loại chủ sử dụng trên GCN", "Holder type on the certificate",
          "holder_type", "enum", "reconcile", HOLDER_TYPE),
        c("role", "Vai trò", "Role", "owners[].role", "enum", "reconcile", ROLE),
        c("full_name", "Họ và tên", "Owner's full name", "owners[].full_name", "text",
          "reconcile"),
        c("sex", "Giới tính", "Sex", "owners[].sex", "enum", "reconcile", SEX),
        c("date_of_birth", "Ngày sinh", "Date of birth", "owners[].date_of_birth", "date",
          "reconcile"),
        c("personal_id", "Số CCCD", "Personal ID (CCCD, 12 digits)", "owners[].personal_id",
          "id12"),
        c("legacy_id", "Số CMND cũ", "Old ID card (CMND, 9 digits)", "owners[].legacy_id",
          "id9"),
        c("owner_address", "Địa chỉ thường trú", "Permanent address", "owners[].address",
          "text"),
        *(_CURRENT_USER if current_user else []),
        c("parcel_code", "Mã thửa đất", "Parcel ID code (filled in by officials)", None,
          "text"),
        c("certificate_map_sheet", "Số tờ bản đồ trên GCN", "Map sheet on the certificate",
          "parcel.certificate_map_sheet", "int"),
        c("certificate_parcel_no", "Số thửa trên GCN", "Parcel number on the certificate",
          "parcel.certificate_parcel_no", "int"),
        c("map_sheet", "Số tờ bản đồ hiện trạng", "Map sheet on the current map",
          "parcel.map_sheet", "int", "import"),
        c("parcel_no", "Số thửa hiện trạng", "Parcel number on the current map",
          "parcel.parcel_no", "int", "import"),
        c("parcel_address", "Địa chỉ thửa đất", "Parcel address", "parcel.address", "text"),
        c("area", "Diện tích thửa (m²)", "Parcel area (m²)", "parcel.area_m2", "area",
          "reconcile"),
        *_use(1), *_use(2), *_use(3),
        *(_ASSETS if assets else []),
        c("collection_status", "Tình trạng thu thập", "Collection status",
          "collection_status", "enum", "reconcile", COLLECTION_STATUS),
        c("scan_file", "Tên tệp quét", "Scanned file name", "scan_file", "text", "reconcile"),
    )  # fmt: skip


@dataclass(frozen=True)
class Template:
    """One version of Form 01: its name, its columns in order, and where its rows start."""

    version: str
    title: str
    columns: tuple[Column, ...]

    def letter(self, index: int) -> str:
        """The column letter of the 0-based column ``index``."""
        return get_column_letter(index + 1)

    def index(self, key: str) -> int:
        """The 0-based position of the column named ``key``."""
        return next(i for i, c in enumerate(self.columns) if c.key == key)


TITLE_ROW = 1  # "BIỂU MẪU SỐ 01 … PL3-49": the version is read from the rows above the header
HEADER_ROW = 2  # where the template puts its header; the reader looks in the first rows
FIRST_DATA_ROW = 3
TEMPLATES = {
    t.version: t
    for t in (
        Template(
            "PL3-49",
            "Biểu mẫu số 01: thông tin thửa đất và chủ sử dụng (49 cột)",
            _columns(org_id=True, current_user=True, assets=True),
        ),
        Template(
            "PL3-38",
            "Biểu mẫu số 01: thông tin thửa đất và chủ sử dụng (38 cột)",
            _columns(org_id=False, current_user=False, assets=False),
        ),
    )
}
VERSION_PATTERN = re.compile(r"\bPL3-\d+\b", re.IGNORECASE)
