"""A long sheet, read a batch of rows at a time, gives each record what a sheet of one row gives."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import orjson
import pytest
import xlsxwriter

from shared.bench.form01 import _records
from shared.form01.errors import FormRefused
from shared.form01.export import record_rows
from shared.form01.reader import read_form
from shared.form01.template import FIRST_DATA_ROW, TEMPLATES
from shared.normalize import serial_key, serial_keys

PL3_49 = TEMPLATES["PL3-49"]
_BOOK = PL3_49.index("book_number")
_CCCD = PL3_49.index("personal_id")


def _sheet(path: Path, rows: list[list[str]]) -> Path:
    """A Form 01 CSV of the given rows (its title row, its header, then the rows)."""
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([f"BIỂU MẪU SỐ 01 - phiên bản {PL3_49.version}"])
        writer.writerow([c.header for c in PL3_49.columns])
        writer.writerows(rows)
    return path


def _rows(count: int) -> list[list[str]]:
    return [
        ["" if v is None else str(v) for v in cells]
        for record in _records(count)
        for cells in record_rows(PL3_49, record)
    ]


def test_records_deep_in_a_long_sheet_read_as_they_do_alone(tmp_path: Path) -> None:
    # 10,000 rows: past what a column remembers, IDs (from row 4,096) and book numbers (from row
    # 8,192) are read a batch at a time; a lost leading zero and a leading space there still need
    # what a cell read alone gets.
    rows = _rows(5000)
    rows[5001][_CCCD] = rows[5001][_CCCD].removeprefix("0")
    rows[9000][_BOOK] = f" {rows[9000][_BOOK]}"
    long = read_form(_sheet(tmp_path / "long.csv", rows))
    assert len(long.submitted) == 5000
    assert not long.errors
    by_first_row = {group.rows[0]: group.record for group in long.submitted}
    for first in (0, 5000, 9000, 9998):  # couples: a record's rows are first and first + 1
        alone = read_form(_sheet(tmp_path / f"alone-{first}.csv", rows[first : first + 2]))
        [(_, record)] = alone.records
        got = by_first_row[first + FIRST_DATA_ROW]
        assert got is not None
        assert orjson.loads(got) == record


def test_serials_folded_together_fold_as_each_alone() -> None:
    serials = ["CK 031112", "ck-031.112", "Đ 12", "ð x/y", "", "ß 1", "e\u0301 1", "\u0301X", "Ɖ_1"]
    assert serial_keys(serials) == [serial_key(s) for s in serials]
    assert serial_keys(["a\x00b", "c"]) == [serial_key("a\x00b"), "C"]
    assert serial_keys([]) == []


def _long_workbook(path: Path, rows: list[list[str]], mark: str) -> Path:
    """A Form 01 workbook of the rows (megabytes of sheet XML), a merge or formula at its end."""
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    sheet.write_string(0, 0, f"BIỂU MẪU SỐ 01 - phiên bản {PL3_49.version}")
    for i, column in enumerate(PL3_49.columns):
        sheet.write_string(1, i, column.header)
    for r, cells in enumerate(rows, start=FIRST_DATA_ROW - 1):
        for c, value in enumerate(cells):
            if value:
                sheet.write_string(r, c, value)
    last = FIRST_DATA_ROW - 2 + len(rows)  # 0-based
    if mark == "merge":
        sheet.merge_range(last - 1, 2, last, 2, rows[-1][2])
    else:
        sheet.write_formula(last, 5, "=1+1")
    workbook.close()
    return path


@pytest.mark.parametrize("mark", ["merge", "formula"])
def test_a_merge_or_formula_at_the_end_of_a_long_workbook_is_found(
    tmp_path: Path, mark: str
) -> None:
    rows = _rows(2500)
    path = _long_workbook(tmp_path / "long.xlsx", rows, mark)
    sheet_xml = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size
    assert sheet_xml > 2 * 1024 * 1024  # read in several chunks: the mark is in the last one

    with pytest.raises(FormRefused) as refused:
        read_form(path)

    last = FIRST_DATA_ROW - 1 + len(rows)
    if mark == "merge":
        assert refused.value.message.startswith(f"merged cells C{last - 1}:C{last} in the data")
    else:
        assert refused.value.message.startswith(f"cell F{last} holds a formula")
