"""The blank Form 01 workbook: title, frozen header, drop-downs, text columns, instructions."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from shared.form01.template import FIRST_DATA_ROW, HEADER_ROW, TITLE_ROW, Column, Template

FORM_SHEET = "Biểu mẫu 01"
INSTRUCTIONS_SHEET = "Hướng dẫn"
LAST_ROW = 20_000  # how far down the drop-downs and text formats reach
_TEXT_KINDS = ("text", "code5", "id12", "id9")
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_MANDATORY_FILL = PatternFill("solid", fgColor="FCE4D6")


def blank_workbook(template: Template) -> bytes:
    """The template as .xlsx bytes."""
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    sheet.title = FORM_SHEET
    sheet.cell(TITLE_ROW, 1, f"BIỂU MẪU SỐ 01 - {template.title} - phiên bản {template.version}")
    sheet.cell(TITLE_ROW, 1).font = Font(bold=True, size=13)
    for i, column in enumerate(template.columns, start=1):
        _header(sheet, i, column)
    sheet.freeze_panes = f"A{FIRST_DATA_ROW}"
    for validation in _validations(template):
        sheet.add_data_validation(validation)
    _instructions(workbook.create_sheet(INSTRUCTIONS_SHEET), template)
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def _header(sheet: Worksheet, index: int, column: Column) -> None:
    cell = sheet.cell(HEADER_ROW, index, column.header)
    cell.font = Font(bold=True)
    cell.alignment = Alignment(wrap_text=True, vertical="center")
    cell.fill = _MANDATORY_FILL if column.mandatory != "no" else _HEADER_FILL
    letter = get_column_letter(index)
    sheet.column_dimensions[letter].width = max(12, min(32, len(column.header) + 2))
    if column.kind in _TEXT_KINDS:
        # "@" is Excel's text format: a typed 024085001234 keeps its zero. A column's style is
        # what Excel gives the cells typed into it.
        sheet.column_dimensions[letter].number_format = "@"
    elif column.kind == "date":
        sheet.column_dimensions[letter].number_format = "DD/MM/YYYY"


def _validations(template: Template) -> list[DataValidation]:
    out = []
    for i, column in enumerate(template.columns, start=1):
        if not column.choices:
            continue
        labels = ",".join(label for _, label in column.choices)
        validation = DataValidation(
            type="list",
            formula1=f'"{labels}"',
            allow_blank=True,
            showErrorMessage=True,
            errorStyle="stop" if column.closed else "warning",
            errorTitle=column.header,
            error=f"Chọn một giá trị trong danh sách: {labels}",
        )
        letter = get_column_letter(i)
        validation.add(f"{letter}{FIRST_DATA_ROW}:{letter}{LAST_ROW}")
        out.append(validation)
    return out


def _instructions(sheet: Worksheet, template: Template) -> None:
    lines: list[tuple[Any, ...]] = [
        (f"Hướng dẫn điền Biểu mẫu số 01, phiên bản {template.version}",),
        ("Mỗi dòng là một chủ sử dụng của một thửa đất (one row per owner x parcel).",),
        ("Các dòng cùng số phát hành GCN, số tờ và số thửa là một hồ sơ (one record).",),
        ("Ngày viết dd/mm/yyyy; diện tích dùng dấu phẩy thập phân (96,1).",),
        ("Không gộp ô, không dùng công thức, không thêm hay xoá cột.",),
        ("Cột tô màu cam là bắt buộc (orange columns are mandatory).",),
        (),
        ("Cột", "Tiêu đề", "English", "Giá trị cho phép", "Bắt buộc"),
    ]
    for i, c in enumerate(template.columns, start=1):
        values = ", ".join(label for _, label in c.choices) if c.choices else ""
        lines.append(
            (get_column_letter(i), c.header, c.english, values, "có" if c.mandatory != "no" else "")
        )
    for line in lines:
        sheet.append(line)
    sheet.column_dimensions["B"].width = 36
    sheet.column_dimensions["C"].width = 40
    sheet.column_dimensions["D"].width = 60
