"""The structure check: version, header, columns, merged cells, formulas, other sheets."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain, islice
from operator import itemgetter

from openpyxl.utils import get_column_letter

from shared.form01.cells import Value, text
from shared.form01.errors import FormRefused, bad_file
from shared.form01.limits import Limits
from shared.form01.sources import Sheet, first_cell_text
from shared.form01.template import (
    REASONS_HEADER,
    STATUS_HEADER,
    TEMPLATES,
    VERSION_PATTERN,
    Template,
)
from shared.normalize import fold_name

HEADER_SEARCH_ROWS = 10
_FIRST_HEADER = fold_name("Mã xã")
_ANNOTATION = [fold_name(STATUS_HEADER), fold_name(REASONS_HEADER)]
Row = tuple[int, list[Value]]  # the sheet's row number (1-based) and its cells
Rows = tuple[list[int], list[list[Value]]]  # a batch of rows: their numbers, their cells
#: Rows checked, then converted column by column, at a time: few enough that a batch's cells are
#: still in the CPU's cache when they are converted (2,048 made the whole import 5 % slower).
ROWS_BATCH = 512


@dataclass
class Form:
    """A sheet whose structure is right: its template, header row and data rows."""

    template: Template
    header_row: int  # 1-based
    rows: Iterator[Rows]  # in batches


def _letter(index: int) -> str:
    return get_column_letter(index + 1)


def check(sheet: Sheet, limits: Limits) -> Form:
    """The sheet as a :class:`Form`, or :class:`FormRefused` with one message naming the cell."""
    if sheet.height > limits.max_rows:
        raise bad_file(
            f"the sheet has {sheet.height:,} rows: the limit is {limits.max_rows:,}", status=413
        )
    if sheet.other_data:
        name, cell = sheet.other_data
        raise FormRefused(f"data on sheet '{name}' too (cell {cell}): put every row on one sheet")
    top = list(islice(sheet.rows, HEADER_SEARCH_ROWS))
    if not any(text(v) for row in top for v in row):
        raise bad_file("the sheet is empty: no rows to import")
    header_index = _header_index(top)
    template = _template(top[:header_index])
    notes = _annotation_width(template, top[header_index])
    _compare(template, top[header_index][: len(template.columns)] if notes else top[header_index],
             header_index + 1)  # fmt: skip
    _check_merged(sheet, header_index)
    if sheet.has_formulas and sheet.path is not None:
        _check_formulas(sheet, header_index)
    rows = _data_rows(template, top[header_index + 1 :], sheet.rows, header_index + 2, notes)
    first = next(rows, None)
    if first is None:
        raise FormRefused("no rows under the header: nothing to import")
    return Form(template, header_index + 1, chain((first,), rows))


def _annotation_width(template: Template, header: list[Value]) -> int:
    """2 when the header goes on with LandSync's status and reasons columns, else 0."""
    width = len(template.columns)
    after = [fold_name(text(v)) for v in header[width : width + 2]]
    return 2 if after == _ANNOTATION else 0


def _header_index(top: list[list[Value]]) -> int:
    for i, row in enumerate(top):
        if any(fold_name(text(v)) == _FIRST_HEADER for v in row):
            return i
    raise FormRefused(
        f"header row not found: no row in the first {HEADER_SEARCH_ROWS} has a 'Mã xã' column",
        column="A",
    )


def _template(above: list[list[Value]]) -> Template:
    words = " ".join(text(v) for row in above for v in row if isinstance(v, str))
    found = VERSION_PATTERN.search(words)
    known = ", ".join(TEMPLATES)
    if found is None:
        raise FormRefused(
            f"no template version (one of {known}) in the rows above the header: use the "
            "template's title row"
        )
    version = found.group(0).upper()
    if version not in TEMPLATES:
        raise FormRefused(f"unknown template version '{version}': LandSync knows {known}")
    return TEMPLATES[version]


def _compare(template: Template, header: list[Value], row: int) -> None:
    actual = [fold_name(text(v)) for v in header]
    while actual and not actual[-1]:
        actual.pop()
    expected = [fold_name(c.header) for c in template.columns]
    for i, want in enumerate(expected):
        if i >= len(actual):
            raise FormRefused(
                f"column {_letter(i)} should be '{template.columns[i].header}' but is missing "
                f"(cell {_letter(i)}{row} is empty)",
                column=_letter(i),
            )
        if actual[i] != want:
            raise FormRefused(_mismatch(template, header, actual, i, row), column=_letter(i))
    if len(actual) > len(expected):
        i = len(expected)
        raise FormRefused(
            f"column {_letter(i)} (cell {_letter(i)}{row}) '{first_cell_text(header[i])}' is not "
            f"part of {template.version}, whose last column is {_letter(i - 1)}",
            column=_letter(i),
        )


def _mismatch(template: Template, header: list[Value], actual: list[str], i: int, row: int) -> str:
    expected = [fold_name(c.header) for c in template.columns]
    col = _letter(i)
    shown = first_cell_text(header[i]) if i < len(header) else ""
    said = f"'{shown}'" if shown else "empty"
    start = f"column {col} should be '{template.columns[i].header}' but is {said}"
    if actual[i + 1 : i + 4] == expected[i : i + 3] or (i and actual[i] == expected[i - 1]):
        return f"{start}: columns from {col} on seem shifted by one (a column inserted)"
    if actual[i : i + 3] == expected[i + 1 : i + 4]:
        return (
            f"{start}: columns from {col} on seem shifted by one "
            f"('{template.columns[i].header}' missing)"
        )
    return f"{start} (cell {col}{row})"


def _check_merged(sheet: Sheet, header_index: int) -> None:
    for first_row, first_col, last_row, last_col in sheet.merged:
        if last_row >= header_index:
            where = f"{_letter(first_col)}{first_row + 1}:{_letter(last_col)}{last_row + 1}"
            area = "the header" if last_row == header_index else "the data area"
            raise FormRefused(
                f"merged cells {where} in {area}: unmerge them and fill each row",
                column=_letter(first_col),
            )


def _check_formulas(sheet: Sheet, header_index: int) -> None:
    """Find the first formula at or below the header (only run when the bytes hold one)."""
    from openpyxl import load_workbook  # noqa: PLC0415 - the slow path of a rare case

    assert sheet.path is not None
    workbook = load_workbook(sheet.path, read_only=True, data_only=False)
    try:
        rows = workbook[sheet.name].iter_rows(min_row=header_index + 1)
        for cells in rows:
            for cell in cells:
                if getattr(cell, "data_type", None) == "f":
                    raise FormRefused(
                        f"cell {cell.coordinate} holds a formula ({cell.value}): "
                        "paste the values instead",
                        column=getattr(cell, "column_letter", None),
                    )
    finally:
        workbook.close()


def _data_rows(
    template: Template,
    buffered: list[list[Value]],
    rest: Iterator[list[Value]],
    first: int,
    notes: int = 0,
) -> Iterator[Rows]:
    """The non-empty rows under the header, each exactly the form's width, in batches.

    ``notes``: columns after the form's that hold an earlier import's status and reasons.
    """
    width = len(template.columns)
    number = first
    source = chain(buffered, rest)
    while chunk := list(islice(source, ROWS_BATCH)):
        numbers = list(range(number, number + len(chunk)))
        number += len(chunk)
        if set(map(len, chunk)) != {width}:
            chunk = [_fit(cells, width, notes, n) for cells, n in zip(chunk, numbers, strict=True)]
        # Blank rows are skipped; the commune code's cell, when filled, says the row is not.
        # A batch holds a few distinct codes: each is judged once, and the rows are gone through
        # one by one only in a batch where one of them looks blank.
        firsts = list(map(itemgetter(0), chunk))
        blank_looking = {
            v for v in set(firsts) if v is None or (v.__class__ is str and not v.strip())
        }
        blank = [i for i, v in enumerate(firsts) if v in blank_looking] if blank_looking else []
        kept = [i for i in blank if any(text(v) for v in chunk[i])]
        if len(kept) < len(blank):
            drop = set(blank).difference(kept)
            numbers = [n for i, n in enumerate(numbers) if i not in drop]
            chunk = [cells for i, cells in enumerate(chunk) if i not in drop]
        if chunk:
            yield numbers, chunk


def _fit(cells: list[Value], width: int, notes: int, number: int) -> list[Value]:
    """A row cut or padded to the form's width; a value right of its last column refuses it."""
    size = len(cells)
    if size > width:
        for j in range(width + notes, size):
            if text(cells[j]):
                raise FormRefused(
                    f"cell {_letter(j)}{number} holds '{first_cell_text(cells[j])}' right "
                    f"of the form's last column {_letter(width - 1)}",
                    column=_letter(j),
                )
        return cells[:width]
    return cells + [""] * (width - size)  # a short CSV line
