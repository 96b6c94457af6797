"""Parses the reference CSV files of CONTRACT §8 into rows ready for COPY, refusing bad lines."""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from shared.normalize import fold_name, serial_key

Kind = Literal["residents", "certificates"]

RESIDENT_COLUMNS = (
    "personal_id",
    "legacy_id",
    "full_name",
    "date_of_birth",
    "sex",
    "status",
    "commune_code",
)
CERTIFICATE_COLUMNS = (
    "serial",
    "book_number",
    "issued_on",
    "commune_code",
    "map_sheet",
    "parcel_no",
    "holder_ids",
    "status",
    "mortgage_bank",
    "mortgage_registered_on",
    "mortgage_released_on",
)
#: The columns of the file, per kind (CONTRACT §8).
FILE_COLUMNS: dict[Kind, tuple[str, ...]] = {
    "residents": RESIDENT_COLUMNS,
    "certificates": CERTIFICATE_COLUMNS,
}
#: The columns of the table rows this module produces, in order.
TABLE_COLUMNS: dict[Kind, tuple[str, ...]] = {
    "residents": (*RESIDENT_COLUMNS[:3], "name_key", *RESIDENT_COLUMNS[3:]),
    "certificates": ("serial", "serial_key", *CERTIFICATE_COLUMNS[1:]),
}
#: Columns of the primary key, per kind: a later line with the same key wins over an earlier one.
KEY_COLUMNS: dict[Kind, tuple[str, ...]] = {
    "residents": ("personal_id",),
    "certificates": ("serial_key", "commune_code", "map_sheet", "parcel_no"),
}

_COMMUNE = re.compile(r"^\d{5}$")
_SEXES = frozenset({"male", "female"})
_RESIDENT_STATUSES = frozenset({"alive", "deceased"})
_CERTIFICATE_STATUSES = frozenset({"valid", "revoked", "replaced"})
_EXAMPLES = 5  # refused lines named in the report; more would only scroll the useful part away

# Names repeat a great deal (that is the point of the surname distribution): fold each one once.
_fold = lru_cache(maxsize=200_000)(fold_name)


class UnusableFileError(ValueError):
    """The file cannot be loaded at all (no header, or a column of CONTRACT §8 is missing)."""


class BadRowError(ValueError):
    """One line cannot be loaded; the message says why, without the line's personal data."""


@dataclass
class ParseResult:
    """What a parse saw: lines read, rows accepted, what was refused and why."""

    lines: int = 0
    rows: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[int, str]] = field(default_factory=list)
    repeated_keys: int = 0

    def refuse(self, line: int, reason: str) -> None:
        """Count a refused line and keep the first few as examples."""
        self.refused[reason] += 1
        if len(self.examples) < _EXAMPLES:
            self.examples.append((line, reason))


def _date(text: str, column: str, *, required: bool) -> date | None:
    if not text:
        if required:
            raise BadRowError(f"{column} missing")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRowError(f"{column} not a YYYY-MM-DD date") from None


def _positive_int(text: str, column: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise BadRowError(f"{column} not a positive integer")
    return int(text)


def resident_row(values: list[str]) -> tuple[Any, ...]:
    """A residents table row from the file's values, or :class:`BadRowError`."""
    pid, legacy, name, born, sex, status, commune = map(str.strip, values)
    # len + isdigit rather than a regex: this runs a million times per file.
    if len(pid) != 12 or not pid.isdigit() or not pid.isascii():
        raise BadRowError("personal_id not 12 digits")
    if legacy and (len(legacy) != 9 or not legacy.isdigit() or not legacy.isascii()):
        raise BadRowError("legacy_id not 9 digits")
    if not name:
        raise BadRowError("full_name missing")
    if sex not in _SEXES:
        raise BadRowError("sex not male or female")
    if status not in _RESIDENT_STATUSES:
        raise BadRowError("status not alive or deceased")
    if commune and not _COMMUNE.match(commune):
        raise BadRowError("commune_code not 5 digits")
    dob = _date(born, "date_of_birth", required=True)
    return (pid, legacy or None, name, _fold(name), dob, sex, status, commune or None)


def certificate_row(values: list[str]) -> tuple[Any, ...]:
    """A certificates table row from the file's values, or :class:`BadRowError`."""
    serial, book, issued, commune, sheet, parcel, holders, status, bank, since, until = map(
        str.strip, values
    )
    key = serial_key(serial)
    if not key:
        raise BadRowError("serial missing")
    if not _COMMUNE.match(commune):
        raise BadRowError("commune_code not 5 digits")
    ids = holders.replace(" ", "").strip(";")
    holder_ids = ids.split(";") if ids else []
    # One pass over the digits and one over the lengths: cheaper than checking ID by ID.
    digits = ids.replace(";", "")
    if digits and (not digits.isdigit() or not digits.isascii() or {*map(len, holder_ids)} != {12}):
        raise BadRowError("holder_ids not 12-digit IDs separated by ;")
    if status not in _CERTIFICATE_STATUSES:
        raise BadRowError("status not valid, revoked or replaced")
    return (
        serial,
        key,
        book or None,
        _date(issued, "issued_on", required=False),
        commune,
        _positive_int(sheet, "map_sheet"),
        _positive_int(parcel, "parcel_no"),
        holder_ids,
        status,
        bank or None,
        _date(since, "mortgage_registered_on", required=False),
        _date(until, "mortgage_released_on", required=False),
    )


_ROW_PARSERS: dict[Kind, Callable[[list[str]], tuple[Any, ...]]] = {
    "residents": resident_row,
    "certificates": certificate_row,
}
_KEY_INDEXES: dict[Kind, tuple[int, ...]] = {
    kind: tuple(TABLE_COLUMNS[kind].index(c) for c in KEY_COLUMNS[kind]) for kind in TABLE_COLUMNS
}


def parse_lines(
    kind: Kind, lines: Iterable[list[str]], result: ParseResult, chunk: int = 50_000
) -> Iterator[list[tuple[Any, ...]]]:
    """Table rows in chunks, each row ending with its line number; bad lines are refused.

    The header comes first; :class:`UnusableFileError` if a column of CONTRACT §8 is missing.
    ``result`` is filled in as the chunks are consumed.
    """
    reader = iter(lines)
    header = [h.strip().lstrip("\ufeff") for h in next(reader, [])]
    if missing := [c for c in FILE_COLUMNS[kind] if c not in header]:
        raise UnusableFileError(f"missing columns: {', '.join(missing)}")
    positions = [header.index(c) for c in FILE_COLUMNS[kind]]
    in_order = positions == list(range(len(header)))
    parse, key_at, width = _ROW_PARSERS[kind], _KEY_INDEXES[kind], len(header)
    seen: set[tuple[Any, ...]] = set()
    rows: list[tuple[Any, ...]] = []
    for line_no, values in enumerate(reader, start=2):
        result.lines += 1
        if len(values) != width:
            result.refuse(line_no, f"{len(values)} fields, header has {width}")
            continue
        try:
            row = parse(values if in_order else [values[i] for i in positions])
        except BadRowError as exc:
            result.refuse(line_no, str(exc))
            continue
        key = tuple([row[i] for i in key_at])
        if key in seen:
            result.repeated_keys += 1
        seen.add(key)
        rows.append((*row, line_no))
        if len(rows) == chunk:
            result.rows += len(rows)
            yield rows
            rows = []
    if rows:
        result.rows += len(rows)
        yield rows


def parse_file(
    kind: Kind,
    path: Path,
    result: ParseResult,
    progress: Callable[[int], None] | None = None,
) -> Iterator[list[tuple[Any, ...]]]:
    """Rows of a reference CSV file (UTF-8, header row, comma-separated), in chunks.

    ``progress`` is called now and then with the number of bytes read so far.
    """
    with path.open(encoding="utf-8-sig", newline="") as f:
        lines: Iterable[list[str]] = csv.reader(f)
        if progress is not None:
            buffer: Any = f.buffer  # ahead of the text layer by its read-ahead: near enough
            lines = _reporting(lines, lambda: progress(buffer.tell()))
        yield from parse_lines(kind, lines, result)


def _reporting(lines: Iterable[list[str]], report: Callable[[], None]) -> Iterator[list[str]]:
    for n, values in enumerate(lines):
        if n % 50_000 == 0:
            report()
        yield values
    report()
