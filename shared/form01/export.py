"""Records written out as Form 01 rows (one per owner), and as a workbook or CSV of them."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import xlsxwriter

from shared.form01.template import FIRST_DATA_ROW, HEADER_ROW, TITLE_ROW, Column, Template

_TEXT_KINDS = ("text", "code5", "id12", "id9")
#: Written on every owner row: they say which record the row belongs to.
KEY_FIELDS = frozenset(
    {"commune_code", "certificate.serial", "parcel.map_sheet", "parcel.parcel_no"}
)


def _get(record: dict[str, Any], path: str) -> Any:  # noqa: ANN401 - a JSON value
    value: Any = record
    for part in path.replace("[", ".").replace("]", "").split("."):
        if isinstance(value, list):
            index = int(part)
            value = value[index] if index < len(value) else None
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def _cell(column: Column, value: Any) -> Any:  # noqa: ANN401 - a JSON value
    if value is None:
        return None
    if column.kind == "enum":
        return dict(column.choices).get(value, value)
    if column.kind == "date":
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    if column.kind == "area":
        # As communes type it, with a decimal comma; every digit kept (":g" would round).
        return format(float(value), "f").rstrip("0").rstrip(".").replace(".", ",")
    return value


def record_rows(template: Template, record: dict[str, Any]) -> list[list[Any]]:
    """One row per owner (one row for a record without owners), values as a commune types them."""
    owners = record.get("owners") or [{}]
    rows = []
    for i, owner in enumerate(owners):
        row = []
        for column in template.columns:
            if column.field is None:
                value = None
            elif column.level == "owner":
                value = owner.get(column.field.removeprefix("owners[]."))
            else:
                value = _get(record, column.field) if i == 0 or column.field in KEY_FIELDS else None
            row.append(_cell(column, value))
        rows.append(row)
    return rows


def _title(template: Template) -> str:
    return f"BIỂU MẪU SỐ 01 - {template.title} - phiên bản {template.version}"


def write_xlsx(
    path: Path,
    template: Template,
    records: Iterable[dict[str, Any]],
    *,
    shared_strings: bool = False,
) -> int:
    """Write the records as a Form 01 workbook; returns the data rows.

    In constant memory, strings written inline; ``shared_strings`` keeps them in one table as
    Excel does (and holds the whole sheet in memory while it is written).
    """
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": not shared_strings})
    try:
        sheet = workbook.add_worksheet("Biểu mẫu 01")
        text = workbook.add_format({"num_format": "@"})
        for i, column in enumerate(template.columns):
            if column.kind in _TEXT_KINDS:
                sheet.set_column(i, i, 16, text)
        sheet.write_string(TITLE_ROW - 1, 0, _title(template))
        for i, column in enumerate(template.columns):
            sheet.write_string(HEADER_ROW - 1, i, column.header)
        sheet.freeze_panes(FIRST_DATA_ROW - 1, 0)
        row = FIRST_DATA_ROW - 1
        for record in records:
            for cells in record_rows(template, record):
                for i, value in enumerate(cells):
                    if value is not None:
                        sheet.write(row, i, value)
                row += 1
    finally:
        workbook.close()
    return row - FIRST_DATA_ROW + 1


def write_csv(path: Path, template: Template, records: Iterable[dict[str, Any]]) -> int:
    """Write the records as a Form 01 CSV (UTF-8 with BOM, as Excel saves "CSV UTF-8")."""
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([_title(template)])
        writer.writerow([c.header for c in template.columns])
        for record in records:
            for cells in record_rows(template, record):
                writer.writerow(["" if v is None else v for v in cells])
                count += 1
    return count
