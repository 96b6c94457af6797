"""A wrong form structure refuses the whole file with one message naming the column and cell."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl.worksheet.worksheet import Worksheet

from shared.form01.errors import FormRefused
from shared.form01.reader import read_form
from tests.form01_files import edited, form_file
from tests.support import make_record

Change = Callable[[Worksheet], None]


def _refused(tmp_path: Path, change: Change) -> FormRefused:
    path = form_file(tmp_path / "f.xlsx", [make_record(), make_record()])
    with edited(path) as sheet:
        change(sheet)
    with pytest.raises(FormRefused) as refused:
        read_form(path)
    assert refused.value.code == "form_structure"
    return refused.value


def _set(cell: str, value: object) -> Change:
    def change(sheet: Worksheet) -> None:
        sheet[cell].value = value

    return change


def test_a_copied_column_shifts_the_rest_and_the_message_says_so(tmp_path: Path) -> None:
    def copy_birth_date(sheet: Worksheet) -> None:
        sheet.insert_cols(13)  # before M
        for row in range(2, 5):
            sheet.cell(row, 13).value = sheet.cell(row, 12).value

    refused = _refused(tmp_path, copy_birth_date)

    assert refused.message == (
        "column M should be 'Số CCCD' but is 'Ngày sinh': columns from M on seem shifted by one"
        " (a column inserted)"
    )
    assert refused.column == "M"


def test_a_deleted_column_is_named(tmp_path: Path) -> None:
    refused = _refused(tmp_path, lambda sheet: sheet.delete_cols(11))

    assert refused.message.startswith("column K should be 'Giới tính' but is 'Ngày sinh'")
    assert "('Giới tính' missing)" in refused.message


def test_a_renamed_column_names_its_header_cell(tmp_path: Path) -> None:
    refused = _refused(tmp_path, _set("M2", "CCCD chủ hộ"))

    assert refused.message == "column M should be 'Số CCCD' but is 'CCCD chủ hộ' (cell M2)"


def test_headers_match_whatever_the_case_and_diacritics(tmp_path: Path) -> None:
    path = form_file(tmp_path / "f.xlsx", [make_record()])
    with edited(path) as sheet:
        sheet["M2"].value = "SO CCCD"

    assert len(read_form(path).records) == 1


def test_a_missing_last_column_and_an_extra_one_are_refused(tmp_path: Path) -> None:
    missing = _refused(tmp_path, lambda sheet: sheet.delete_cols(49))
    extra = _refused(tmp_path, _set("AX2", "Ghi chú"))

    assert missing.message.startswith("column AW should be 'Tên tệp quét' but is missing")
    assert extra.message.startswith("column AX (cell AX2) 'Ghi chú' is not part of PL3-49")


def test_a_value_right_of_the_last_column_is_refused(tmp_path: Path) -> None:
    refused = _refused(tmp_path, _set("AX4", "ghi chú"))

    assert refused.message.startswith("cell AX4 holds 'ghi chú' right of the form's last column")


def test_no_version_or_an_unknown_version_is_refused(tmp_path: Path) -> None:
    missing = _refused(tmp_path, _set("A1", "Biểu mẫu số 01"))
    unknown = _refused(tmp_path, _set("A1", "Biểu mẫu số 01 PL3-50"))

    assert missing.message.startswith("no template version")
    assert unknown.message == "unknown template version 'PL3-50': LandSync knows PL3-49, PL3-38"


def test_a_sheet_without_its_header_row_is_refused(tmp_path: Path) -> None:
    refused = _refused(tmp_path, lambda sheet: sheet.delete_rows(2))

    assert refused.message.startswith("header row not found")


def test_merged_cells_in_the_data_area_are_refused(tmp_path: Path) -> None:
    refused = _refused(tmp_path, lambda sheet: sheet.merge_cells("C3:C4"))

    assert refused.message == "merged cells C3:C4 in the data area: unmerge them and fill each row"
    assert refused.column == "C"


def test_a_formula_where_a_value_belongs_is_refused(tmp_path: Path) -> None:
    refused = _refused(tmp_path, _set("Z4", "=Y4*2"))

    assert refused.message == "cell Z4 holds a formula (=Y4*2): paste the values instead"


def test_data_on_a_second_sheet_is_refused(tmp_path: Path) -> None:
    def second_sheet(sheet: Worksheet) -> None:
        assert sheet.parent is not None
        sheet.parent.create_sheet("Sheet2")["B4"] = "thửa 12"

    refused = _refused(tmp_path, second_sheet)

    assert refused.message == "data on sheet 'Sheet2' too (cell B4): put every row on one sheet"
