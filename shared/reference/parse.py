"""Reads the reference CSV files of CONTRACT §8: their header, and lines as text when COPY can't.

The values themselves are checked in PostgreSQL (``rules.py``): Python only maps the header,
computes the lookup keys (name and serial normal forms, one call per distinct value) and, for a
file whose structure COPY refuses, hands over its well-formed lines one by one.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

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
#: The columns of the table, in order.
TABLE_COLUMNS: dict[Kind, tuple[str, ...]] = {
    "residents": (*RESIDENT_COLUMNS[:3], "name_key", *RESIDENT_COLUMNS[3:]),
    "certificates": ("serial", "serial_key", *CERTIFICATE_COLUMNS[1:]),
}
#: Columns of the primary key, per kind: a later line with the same key wins over an earlier one.
KEY_COLUMNS: dict[Kind, tuple[str, ...]] = {
    "residents": ("personal_id",),
    "certificates": ("serial_key", "commune_code", "map_sheet", "parcel_no"),
}
#: The file column whose distinct values Python turns into a lookup key, and that key's column.
KEYED_COLUMN: dict[Kind, tuple[str, str]] = {
    "residents": ("full_name", "name_key"),
    "certificates": ("serial", "serial_key"),
}
_KEY_FUNCTIONS: dict[Kind, Callable[[str], str]] = {
    "residents": fold_name,
    "certificates": serial_key,
}
EXAMPLES = 5  # refused lines named in the report; more would only scroll the useful part away
_CHUNK = 50_000


class UnusableFileError(ValueError):
    """The file cannot be loaded at all (no header, a column of CONTRACT §8 missing, not UTF-8)."""


@dataclass
class ParseResult:
    """What a load saw: lines read, rows accepted, what was refused and why."""

    lines: int = 0
    rows: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[int, str]] = field(default_factory=list)
    repeated_keys: int = 0

    def refuse(self, line: int, reason: str, count: int = 1) -> None:
        """Count refused lines and keep the first few as examples."""
        self.refused[reason] += count
        if len(self.examples) < EXAMPLES:
            self.examples.append((line, reason))


def staging_columns(kind: Kind, header: list[str]) -> list[str]:
    """A staging column name per header field: the contract's name, or ``extra_<n>`` for others.

    :class:`UnusableFileError` if a column of CONTRACT §8 is missing.
    """
    cleaned = [h.strip().lstrip("\ufeff").strip() for h in header]
    if missing := [c for c in FILE_COLUMNS[kind] if c not in cleaned]:
        raise UnusableFileError(f"missing columns: {', '.join(missing)}")
    wanted = set(FILE_COLUMNS[kind])
    names: list[str] = []
    for n, name in enumerate(cleaned):
        # The first of two columns with the same name is the one that counts.
        names.append(name if name in wanted and name not in names else f"extra_{n}")
    return names


def read_header(path: Path) -> list[str]:
    """The header row of a reference file (empty for an empty file)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            return next(csv.reader(f), [])
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UnusableFileError(f"line 1: {exc}") from None


def keys_of(kind: Kind, values: Iterable[str]) -> list[tuple[str, str, str]]:
    """(value as written, stripped, lookup key) of names (residents) or serials (certificates)."""
    key = _KEY_FUNCTIONS[kind]
    return [(v, s, key(s)) for v in values for s in (v.strip(),)]


def well_formed_lines(
    path: Path, result: ParseResult, chunk: int = _CHUNK
) -> Iterator[list[tuple[str | int, ...]]]:
    """The file's lines as text values plus their line number, in chunks; the header is skipped.

    For files COPY refuses: a line with the wrong number of fields is refused here, by number.
    :class:`UnusableFileError` if the file is not UTF-8 or not CSV at all.
    """
    line_no = 1
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            width = len(next(reader, []))
            rows: list[tuple[str | int, ...]] = []
            for line_no, values in enumerate(reader, start=2):
                if len(values) != width:
                    result.refuse(line_no, f"{len(values)} fields, header has {width}")
                elif any("\x00" in v for v in values):
                    result.refuse(line_no, "a NUL character")
                else:
                    rows.append((*values, line_no))
                if len(rows) == chunk:
                    yield rows
                    rows = []
            if rows:
                yield rows
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UnusableFileError(f"after line {line_no}: {exc}") from None
