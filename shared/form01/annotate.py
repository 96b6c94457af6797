"""The annotated workbook: the commune's own file plus a status and a reasons column."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from shared.form01.limits import Limits
from shared.form01.outcome import REFUSED, Outcomes
from shared.form01.sniff import sniff
from shared.form01.sources import open_sheet
from shared.form01.template import REASONS_HEADER, STATUS_HEADER, Template

REFUSED_FILL = PatternFill("solid", fgColor="FFFF00")
_REFUSED_ROW_FONT = Font(bold=True, color="C00000")


def annotated(
    source: Path, template: Template, header_row: int, outcomes: Outcomes, sheet_name: str
) -> bytes:
    """The source file with the outcomes written in, as .xlsx bytes (a CSV becomes a workbook)."""
    if sniff(source, Limits(max_rows=2**31)) == "csv":
        workbook = _from_csv(source)
        sheet = workbook.worksheets[0]
    else:
        workbook = load_workbook(source)
        sheet = workbook[sheet_name]
    status_col = len(template.columns) + 1
    _head(sheet, header_row, status_col)
    for row, outcome in outcomes.rows.items():
        sheet.cell(row, status_col, outcome.status)
        sheet.cell(row, status_col + 1, "\n".join(outcome.reasons) or None)
        sheet.cell(row, status_col + 1).alignment = Alignment(wrap_text=True, vertical="top")
        if outcome.status == REFUSED:
            sheet.cell(row, status_col).font = _REFUSED_ROW_FONT
        for letter in outcome.columns:
            sheet[f"{letter}{row}"].fill = REFUSED_FILL
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def _head(sheet: Worksheet, header_row: int, status_col: int) -> None:
    for offset, title in enumerate((STATUS_HEADER, REASONS_HEADER)):
        cell = sheet.cell(header_row, status_col + offset, title)
        cell.font = Font(bold=True)
    sheet.column_dimensions[get_column_letter(status_col)].width = 26
    sheet.column_dimensions[get_column_letter(status_col + 1)].width = 70


def _from_csv(source: Path) -> Workbook:
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    for row in open_sheet(source, Limits(max_rows=2**31)).rows:
        sheet.append([str(v) for v in row])
    return workbook
