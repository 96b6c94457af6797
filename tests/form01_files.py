"""Real Form 01 files for tests, written by openpyxl from records."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from shared.form01.export import record_rows
from shared.form01.template import TEMPLATES, Template
from shared.form01.writer import blank_workbook

PL3_49 = TEMPLATES["PL3-49"]


def form_file(path: Path, records: list[dict[str, Any]], template: Template = PL3_49) -> Path:
    """The blank template, filled with the records' rows from row 3, saved at ``path``."""
    path.write_bytes(blank_workbook(template))
    workbook = load_workbook(path)
    sheet = workbook.worksheets[0]
    row = 3
    for record in records:
        for cells in record_rows(template, record):
            for col, value in enumerate(cells, start=1):
                if value is not None:
                    sheet.cell(row, col, value)
            row += 1
    workbook.save(path)
    return path


def form_bytes(records: list[dict[str, Any]], template: Template = PL3_49) -> bytes:
    """The filled workbook's bytes, for a request body."""
    with tempfile.TemporaryDirectory() as tmp:
        return form_file(Path(tmp) / "form.xlsx", records, template).read_bytes()


@contextlib.contextmanager
def edited(path: Path) -> Iterator[Worksheet]:
    """The workbook's form sheet, to change in the block; the workbook is saved after it."""
    workbook = load_workbook(path)
    yield workbook.worksheets[0]
    workbook.save(path)


def cells_of(path: Path, sheet: int = 0) -> list[list[Any]]:
    """Every cell value of a sheet, by row."""
    workbook = load_workbook(path)
    return [list(r) for r in workbook.worksheets[sheet].iter_rows(values_only=True)]
