"""The Form 01 template: the doc agrees with the code, the blank workbook helps the officer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from shared.form01.doc import BEGIN, END, tables
from shared.form01.template import TEMPLATES
from shared.form01.writer import INSTRUCTIONS_SHEET, blank_workbook

DOC = Path(__file__).resolve().parents[2] / "docs" / "form01.md"


def test_the_doc_lists_exactly_the_columns_the_code_defines() -> None:
    text = DOC.read_text(encoding="utf-8")
    documented = text[text.index(BEGIN) : text.index(END) + len(END)]

    assert documented == tables()


def test_the_two_versions_have_49_and_38_columns_with_the_id_in_column_m() -> None:
    assert len(TEMPLATES["PL3-49"].columns) == 49
    assert len(TEMPLATES["PL3-38"].columns) == 38
    assert TEMPLATES["PL3-49"].columns[12].header == "Số CCCD"


def test_the_blank_workbook_has_a_frozen_header_drop_downs_and_text_columns(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mau-01.xlsx"
    path.write_bytes(blank_workbook(TEMPLATES["PL3-49"]))

    workbook = load_workbook(path)
    sheet = workbook.worksheets[0]
    assert "PL3-49" in str(sheet["A1"].value)
    assert [c.value for c in sheet[2]][:13][-1] == "Số CCCD"
    assert sheet.freeze_panes == "A3"
    lists = {str(v.sqref).split(":")[0]: v.formula1 for v in sheet.data_validations.dataValidation}
    assert lists["K3"] == '"Nam,Nữ"'  # sex
    assert "Hộ gia đình" in lists["H3"]  # holder type
    assert "Vợ" in lists["I3"]
    assert "Chồng" in lists["I3"]
    assert "Đại diện" in lists["I3"]
    text_columns = {k for k, d in sheet.column_dimensions.items() if d.number_format == "@"}
    assert {"M", "A", "C"} <= text_columns  # CCCD, commune code, serial keep leading zeros
    assert sheet.column_dimensions["L"].number_format == "DD/MM/YYYY"
    assert INSTRUCTIONS_SHEET in workbook.sheetnames


def test_the_template_command_writes_the_workbook_to_stdout(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shared.cli.main", "form01", "template", "--version", "PL3-38"],
        capture_output=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    (tmp_path / "mau.xlsx").write_bytes(done.stdout)
    sheet = load_workbook(tmp_path / "mau.xlsx").worksheets[0]
    assert "PL3-38" in str(sheet["A1"].value)
    assert sheet.max_column == 38
