"""Reads one Form 01 file: bad-file checks, the structure check, then rows into records."""

from __future__ import annotations

from pathlib import Path

from shared.form01.limits import Limits
from shared.form01.rows import Parsed, parse_rows
from shared.form01.sources import open_sheet
from shared.form01.structure import check


def read_form(path: Path, limits: Limits | None = None) -> Parsed:
    """The file's records and row errors; raises ``FormRefused`` when the file is refused whole."""
    limits = limits or Limits()
    sheet = open_sheet(path, limits)
    form = check(sheet, limits)
    parsed = parse_rows(form.template, form.rows)
    parsed.header_row, parsed.sheet_name = form.header_row, sheet.name
    return parsed
