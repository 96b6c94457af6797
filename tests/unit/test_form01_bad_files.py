"""Files that are not a usable Form 01 get one clear refusal, never a crash."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from msoffcrypto.format.ooxml import OOXMLFile

from shared.form01.errors import FormRefused
from shared.form01.export import write_csv
from shared.form01.limits import Limits
from shared.form01.reader import read_form
from shared.form01.template import TEMPLATES
from shared.form01.writer import blank_workbook
from tests.form01_files import form_file
from tests.support import make_record


def _refusal(path: Path, limits: Limits | None = None) -> FormRefused:
    with pytest.raises(FormRefused) as refused:
        read_form(path, limits)
    return refused.value


def test_a_pdf_named_xlsx_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "form.xlsx"
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")

    refused = _refusal(path)

    assert refused.code == "bad_file"
    assert refused.message.startswith("not an .xlsx workbook (it is not a zip file)")


def test_binary_bytes_are_neither_workbook_nor_csv(tmp_path: Path) -> None:
    path = tmp_path / "form"
    path.write_bytes(bytes(range(256)) * 4)

    assert _refusal(path).message == "not an .xlsx workbook or a CSV file"


def test_an_old_xls_workbook_renamed_xlsx_is_told_apart(tmp_path: Path) -> None:
    path = tmp_path / "form.xlsx"
    # The Compound File header every .xls starts with, then its sectors.
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + b"\x3e\x00" + b"\0" * 998)

    assert _refusal(path).message.startswith("an Excel 97-2003 (.xls) workbook")


def test_an_opendocument_spreadsheet_is_told_apart(tmp_path: Path) -> None:
    path = tmp_path / "form.xlsx"
    with zipfile.ZipFile(path, "w") as ods:
        ods.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        ods.writestr("content.xml", "<office:document-content/>")

    assert _refusal(path).message == "an OpenDocument spreadsheet (.ods): save it as .xlsx"


def test_a_password_protected_workbook_is_refused_clearly(tmp_path: Path) -> None:
    plain = form_file(tmp_path / "plain.xlsx", [make_record()])
    encrypted = tmp_path / "locked.xlsx"
    with plain.open("rb") as source, encrypted.open("wb") as out:
        office = OOXMLFile(source)
        office.encrypt("mật khẩu", out)

    refused = _refusal(encrypted)

    assert refused.message == ("the workbook is password-protected: save a copy without a password")


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def test_a_zip_bomb_is_refused_from_its_directory(tmp_path: Path) -> None:
    entries = {"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b"0" * 30_000_000}
    bomb = _zip(tmp_path / "bomb.xlsx", entries)
    many = _zip(tmp_path / "many.xlsx", {f"xl/part{i}.xml": b"" for i in range(1_001)})
    big = _zip(tmp_path / "big.xlsx", {"xl/workbook.xml": b"<w/>", "a": bytes(range(256)) * 9000})

    assert "compressed" in _refusal(bomb).message
    assert _refusal(bomb).status == 413
    assert "1,001 parts" in _refusal(many).message
    assert "once inflated" in _refusal(big, Limits(max_uncompressed=1_000_000)).message


def test_a_sheet_reaching_excels_last_row_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "tall.xlsx"
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_string(0, 0, "PL3-49")
    sheet.write_string(1_048_575, 48, "x")
    workbook.close()

    refused = _refusal(path)

    assert refused.message == "the sheet has 1,048,576 rows: the limit is 200,000"
    assert refused.status == 413


def test_an_empty_sheet_and_a_header_without_rows_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.xlsx"
    workbook = xlsxwriter.Workbook(str(empty))
    workbook.add_worksheet()
    workbook.close()
    blank = tmp_path / "blank.xlsx"
    blank.write_bytes(blank_workbook(TEMPLATES["PL3-49"]))

    assert _refusal(empty).message == "the sheet is empty: no rows to import"
    assert _refusal(blank).message == "no rows under the header: nothing to import"


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = form_file(tmp_path / "f.xlsx", [make_record()])

    refused = _refusal(path, Limits(max_bytes=1_000))

    assert refused.status == 413
    assert refused.message.startswith("the file is 0.0 MB: the limit is")


def test_a_windows_1258_csv_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    write_csv(path, TEMPLATES["PL3-49"], [make_record()])
    text = path.read_text(encoding="utf-8-sig")
    path.write_bytes(text.encode("cp1258", errors="replace"))

    refused = _refusal(path)

    assert refused.message.startswith("not UTF-8 (byte 0x")
    assert "on line 1" in refused.message
    assert refused.message.endswith("save it as 'CSV UTF-8'")


def test_a_damaged_workbook_is_refused_not_crashed(tmp_path: Path) -> None:
    good = form_file(tmp_path / "f.xlsx", [make_record()]).read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(good[: len(good) // 2])

    assert _refusal(path).code == "bad_file"
    assert io.BytesIO(good).read(2) == b"PK"


def test_a_workbook_damaged_inside_its_sheet_is_refused_not_crashed(tmp_path: Path) -> None:
    path = form_file(tmp_path / "f.xlsx", [make_record() for _ in range(200)])
    info = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml")
    damaged = bytearray(path.read_bytes())
    # The zip's directory is intact: only the sheet's compressed bytes are, halfway, garbled.
    data = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    middle = data + info.compress_size // 2
    damaged[middle : middle + 64] = bytes(b ^ 0xFF for b in damaged[middle : middle + 64])
    path.write_bytes(bytes(damaged))

    refused = _refusal(path)

    assert (refused.code, refused.status) == ("bad_file", 422)
    assert "damaged" in refused.message


def _wrong_crc(path: Path, part: str) -> Path:
    """The workbook with the part's CRC-32 changed in both its headers: its bytes are intact."""
    data = bytearray(path.read_bytes())
    info = zipfile.ZipFile(path).getinfo(part)
    data[info.header_offset + 14] ^= 0xFF  # the local header's CRC-32
    at = data.find(b"PK\x01\x02")  # the central directory: entry by entry to the part's
    while data[at + 46 : at + 46 + len(part)] != part.encode():
        at = data.find(b"PK\x01\x02", at + 4)
    data[at + 16] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("part", ["xl/worksheets/sheet1.xml", "xl/styles.xml"])
def test_a_part_whose_crc_does_not_match_is_refused_as_damaged(tmp_path: Path, part: str) -> None:
    path = _wrong_crc(form_file(tmp_path / "f.xlsx", [make_record()]), part)

    refused = _refusal(path)

    assert (refused.code, refused.status) == ("bad_file", 422)
    assert "CRC-32" in refused.message
