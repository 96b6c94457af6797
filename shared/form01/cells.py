"""One cell to one record value, by the column's kind: Vietnamese numbers, dates, IDs, labels."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from shared.form01.template import Column
from shared.normalize import fold_name

#: What a spreadsheet library hands over for one cell.
Value = str | float | int | bool | date | datetime | timedelta | Any
_EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 is 1900-01-01 because of Lotus's leap-year bug
_SPACES = re.compile(r"[\s\u00a0\u2007\u202f]+")
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_NUMBER = re.compile(r"^-?\d+(?:[.,]\d+)?$")
_WHOLE_FLOAT = re.compile(r"^(\d+)\.0+$")
#: Digits a number may have lost at the front, by kind: (full length, shortest recoverable).
_PADDED = {"id12": (12, 10), "id9": (9, 8), "code5": (5, 4)}
_NAMES = {"id12": "a CCCD has 12 digits", "id9": "a CMND has 9 digits", "code5": "5 digits"}


class CellError(ValueError):
    """A cell whose text cannot be the column's value; the message says what was expected."""


def _odd_space(raw: str) -> bool:
    """Whether the text has a tab, a line break, a no-break space or two spaces running.

    Seven searches in C, each a fast scan: a regex of the same (one class, one alternative,
    no literal to look for first) took eight times as long over a batch of cells.
    """
    return (
        "  " in raw or "\t" in raw or "\n" in raw or "\r" in raw
        or "\u00a0" in raw or "\u2007" in raw or "\u202f" in raw
    )  # fmt: skip


def text(value: Value) -> str:
    """The cell as trimmed NFC text with single spaces; empty when blank."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    raw = value if isinstance(value, str) else str(value)
    # Most cells are already clean: the checks are C loops, the rewrite only when needed.
    if not raw.isascii() and not unicodedata.is_normalized("NFC", raw):
        raw = unicodedata.normalize("NFC", raw)
    if _odd_space(raw):
        raw = _SPACES.sub(" ", raw)
    return raw.strip()


def clean_text(value: Value) -> Any:
    """:func:`convert` of a text column: the common case, kept short."""
    if isinstance(value, str):
        raw = value
        if not raw.isascii() and not unicodedata.is_normalized("NFC", raw):
            raw = unicodedata.normalize("NFC", raw)
        if _odd_space(raw):
            raw = _SPACES.sub(" ", raw)
        return raw.strip() or None
    return text(value) or None


#: What a batch reader gives: the column's values for every cell, or None to read them one by one.
BatchReader = Callable[[Sequence[Any]], "list[Any] | None"]
_BLANK = {"": None}  # ``_BLANK.get(cell, cell)``: a blank cell is None, any other itself


def batch_reader(column: Column) -> BatchReader | None:
    """A reader of a whole batch of the column's cells at once, for the common case only.

    It answers ``None`` unless every cell is already in the form :func:`converter` would give
    (clean text, digits of the full length, whole numbers): then each cell is its own value, and
    the check is a few passes in C over the batch instead of a Python call per cell.
    """
    if column.kind == "text":
        return _clean_texts
    if column.kind in _PADDED:
        return functools.partial(_full_digits, frozenset({0, _PADDED[column.kind][0]}))
    if column.kind == "int":
        return _ints
    return None


def _clean_texts(cells: Sequence[Any]) -> list[Any] | None:
    try:
        # U+0000 joins them: no space, no composing character, so the checks run on the
        # cells and never across two of them.
        joined = "\x00".join(cells)
    except TypeError:  # a number or a date in a text column
        return None
    if not joined.isascii() and not unicodedata.is_normalized("NFC", joined):
        return None
    if _odd_space(joined):
        return None
    stripped = list(map(str.strip, cells))
    return list(map(_BLANK.get, stripped, stripped))


def _full_digits(lengths: frozenset[int], cells: Sequence[Any]) -> list[Any] | None:
    try:
        joined = "".join(cells)
    except TypeError:
        return None
    if joined and not (joined.isascii() and joined.isdigit()):
        return None
    if not lengths.issuperset(map(len, cells)):
        return None
    return list(map(_BLANK.get, cells, cells))


def _ints(cells: Sequence[Any]) -> list[Any] | None:
    # Only ints exactly: a bool is an int too, and a blank cell is the empty string.
    return list(cells) if set(map(type, cells)) == {int} else None


def converter(column: Column) -> Callable[[Value], Any]:
    """The function that reads the column's cells (the same result as :func:`convert`)."""
    if column.kind == "text":
        return clean_text
    if column.kind == "enum":
        choices = _choices(column)

        def enum(value: Value) -> Any:
            if isinstance(value, str) and (found := choices.get(value)) is not None:
                return found
            return convert(column, value)

        return enum
    return _typed(column)


def _typed(column: Column) -> Callable[[Value], Any]:
    kind = column.kind
    if kind == "date":
        return _date_cell
    reader = _READERS.get(kind)
    if reader is None and kind in _PADDED:
        reader = functools.partial(_digits, kind)
    if reader is None:
        return functools.partial(convert, column)
    read = reader

    def typed(value: Value) -> Any:
        # convert() without its dispatch on the kind: the same steps, once per cell
        if value.__class__ is str:
            value = text(value)
            if not value:
                return None
        elif value is None:
            return None
        return read(value)

    return typed


def convert(column: Column, value: Value) -> Any:
    """The record value of one cell, or ``None`` when blank; raises :class:`CellError`."""
    if value is None or value == "":
        return None
    kind = column.kind
    if isinstance(value, str):
        value = text(value)
        if not value:
            return None
        if kind == "text":
            return value
    if kind in _PADDED:
        return _digits(kind, value)
    if kind == "enum":
        return _choice(column, str(value))
    reader = _READERS.get(kind)
    return text(value) if reader is None else reader(value)


def _digits(kind: str, value: Value) -> str:
    full, shortest = _PADDED[kind]
    if isinstance(value, (bool, date, timedelta)):
        raise CellError(f"expected digits ({_NAMES[kind]})")
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError(f"{value} is not a whole number: {_NAMES[kind]}")
        value = int(value)
    digits = str(value).replace(" ", "")
    if digits.isdigit() and len(digits) == full:
        return digits
    if match := _WHOLE_FLOAT.match(digits):  # "24085001234.0" as a CSV export writes it
        digits = match.group(1)
    if digits.isdigit() and shortest <= len(digits) < full:
        return digits.zfill(full)  # a number that lost its leading zeros (docs/form01.md)
    if digits.isdigit() and len(digits) < shortest and not isinstance(value, str):
        raise CellError(f"{digits} has lost digits, not only leading zeros: {_NAMES[kind]}")
    return digits


def _date(value: Value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _serial(float(value))
    raw = str(value)
    try:
        if match := _DMY.match(raw):
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day)
        if match := _ISO.match(raw):
            year, month, day = (int(g) for g in match.groups())
            return date(year, month, day)
        if raw.replace(".0", "").isdigit():
            return _serial(float(raw))
    except ValueError:
        pass
    raise CellError(f"'{raw}' is not a date: write dd/mm/yyyy")


def _date_cell(value: Value) -> Any:
    """:func:`convert` of a date column, with the commune's own ``dd/mm/yyyy`` read at once."""
    if value.__class__ is str:
        # Most typed dates are exactly dd/mm/yyyy: no trimming, no pattern, three slices, and
        # the ISO text built is the answer once the calendar has accepted it.
        if len(value) == 10 and value[2] == "/" == value[5] and value.isascii():
            iso = f"{value[6:]}-{value[3:5]}-{value[:2]}"
            if iso.replace("-", "").isdigit():
                try:
                    date.fromisoformat(iso)
                except ValueError:  # 31/02: the long way says why
                    pass
                else:
                    return iso
        value = text(value)
        if not value:
            return None
    elif value is None:
        return None
    return _date(value).isoformat()


def _serial(serial: float) -> date:
    if not 1 <= serial < 200_000:
        raise CellError(f"{serial:g} is not a date: write dd/mm/yyyy")
    return _EXCEL_EPOCH + timedelta(days=int(serial))


def _whole(value: Value) -> int:
    if isinstance(value, bool):
        raise CellError("expected a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raw = str(value)
    if match := _WHOLE_FLOAT.match(raw):
        raw = match.group(1)
    if raw.isdigit():
        return int(raw)
    raise CellError(f"'{raw}' is not a whole number")


def _area(value: Value) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raw = str(value).replace(" ", "")
    if ("," in raw and "." in raw) or raw.count(".") > 1:  # 1.234,5: dots group thousands
        raw = raw.replace(".", "")
    if raw.count(",") > 1:
        raw = raw.replace(",", "")
    if not _NUMBER.match(raw):
        raise CellError(f"'{value}' is not a number: write e.g. 96,1")
    return float(raw.replace(",", "."))


_READERS: dict[str, Callable[[Value], Any]] = {
    "date": lambda v: _date(v).isoformat(),
    "int": _whole,
    "area": _area,
}


def _fold(label: str) -> str:
    return fold_name(label).replace("_", " ")


@functools.cache
def _choices(column: Column) -> dict[str, str]:
    """Every accepted spelling of the column's values: labels, values, and their folded forms."""
    found: dict[str, str] = {}
    for value, label in column.choices:
        for spelling in (label, value, _fold(label), _fold(value)):
            found[spelling] = value
    return found


def _choice(column: Column, raw: str) -> str:
    choices = _choices(column)
    found = choices.get(raw) or choices.get(_fold(raw))
    if found is not None:
        return found
    if not column.closed:
        return raw
    labels = ", ".join(label for _, label in column.choices)
    raise CellError(f"'{raw}' is not one of: {labels}")
