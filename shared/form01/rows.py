"""Owner rows to Form 01 records: grouped by certificate and parcel, checked by the record model."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError

from shared.form01.cells import CellError, Value, converter, text
from shared.form01.structure import Row
from shared.form01.template import Column, Template
from shared.normalize import serial_key
from shared.records import Form01Record

_USE = re.compile(r"^parcel\.land_uses\[(\d)\]\.(\w+)$")
_KEY_FIELDS = ("commune_code", "parcel.map_sheet", "parcel.parcel_no")
_CONTINUATION = frozenset({*_KEY_FIELDS, "certificate.serial"})


@dataclass
class RowError:
    """One refused cell (or row): the shape of CONTRACT §2's import errors."""

    row: int
    column: str | None
    field: str | None
    msg: str
    vi: str | None = None  # the reason in Vietnamese, where the message's origin knows it

    def as_json(self) -> dict[str, Any]:
        """``{"row", "column", "field", "msg"}``."""
        return {"row": self.row, "column": self.column, "field": self.field, "msg": self.msg}


@dataclass
class Group:
    """The rows of one record: first row's record values, each row's owner."""

    rows: list[int]
    values: dict[str, Any]  # record field path → value, from the first row that gives it
    source: dict[str, int]  # record field path → the row it came from
    owners: list[dict[str, Any]] = field(default_factory=list)
    owner_rows: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    record: dict[str, Any] | None = None  # the record to submit, once it validated


@dataclass
class Parsed:
    """A form's rows as records: each group in sheet order, with its errors."""

    template: Template
    rows: int = 0
    header_row: int = 2  # 1-based, as in the file
    sheet_name: str = ""
    groups: list[Group] = field(default_factory=list)
    loose: list[RowError] = field(default_factory=list)  # rows that cannot be a record at all

    @property
    def errors(self) -> list[RowError]:
        """Every row error, by row."""
        found = [*self.loose, *(e for g in self.groups for e in g.errors)]
        return sorted(found, key=lambda e: (e.row, e.column or ""))

    @property
    def records(self) -> list[tuple[Group, dict[str, Any]]]:
        """The groups that validated, with their records, in sheet order."""
        return [(g, g.record) for g in self.groups if g.record is not None]


@dataclass(frozen=True)
class _Cell:
    """How one column of the template is read: worked out once per template, not per cell."""

    index: int
    letter: str
    column: Column
    field: str
    owner_key: str | None  # the owner's field, for an owner column
    read: Callable[[Value], Any]


@functools.cache
def _plan(template: Template) -> tuple[_Cell, ...]:
    return tuple(
        _Cell(
            i,
            template.letter(i),
            c,
            c.field,
            c.field.removeprefix("owners[].") if c.level == "owner" else None,
            converter(c),
        )
        for i, c in enumerate(template.columns)
        if c.field is not None
    )


def parse_rows(template: Template, rows: Iterable[Row]) -> Parsed:
    """Group the rows, convert the cells and validate every record with the intake model."""
    parsed = Parsed(template)
    by_key: dict[tuple[Any, ...], Group] = {}
    plan = _plan(template)
    previous: Group | None = None
    for number, cells in rows:
        parsed.rows += 1
        values, owner, errors = _row_values(plan, number, cells)
        key = _group_key(values)
        if previous is not None and _continues(values, owner, errors, cells, template):
            previous.errors += errors
            _add_row(template, previous, number, values, owner)
            continue
        if key is None:
            parsed.loose += errors or [_key_missing(template, number, values)]
            continue
        group = by_key.get(key)
        if group is None:
            group = by_key[key] = Group(rows=[], values={}, source={})
            parsed.groups.append(group)
        group.errors += errors
        _add_row(template, group, number, values, owner)
        previous = group
    for group in parsed.groups:
        _finish(template, group)
    return parsed


def _row_values(
    plan: tuple[_Cell, ...], number: int, cells: list[Value]
) -> tuple[dict[str, Any], dict[str, Any], list[RowError]]:
    values: dict[str, Any] = {}
    owner: dict[str, Any] = {}
    errors: list[RowError] = []
    width = len(cells)
    for cell in plan:
        raw = cells[cell.index] if cell.index < width else None
        if raw is None or raw == "":
            continue
        try:
            value = cell.read(raw)
        except CellError as exc:
            errors.append(RowError(number, cell.letter, cell.field, str(exc)))
            continue
        if value is None:
            continue
        if cell.owner_key is not None:
            owner[cell.owner_key] = value
        else:
            values[cell.field] = value
    return values, owner, errors


def _group_key(values: dict[str, Any]) -> tuple[Any, ...] | None:
    if any(values.get(f) is None for f in _KEY_FIELDS):
        return None
    serial = values.get("certificate.serial")
    return (*(values[f] for f in _KEY_FIELDS), serial_key(serial) if serial else "")


def _continues(
    values: dict[str, Any],
    owner: dict[str, Any],
    errors: list[RowError],
    cells: list[Value],
    template: Template,
) -> bool:
    """A row that names no commune, serial, sheet nor parcel: another owner of the record above."""
    key_blank = all(
        not text(cells[i]) for i, c in enumerate(template.columns) if c.field in _CONTINUATION
    )
    return key_blank and bool(owner or errors or values)


def _key_missing(template: Template, number: int, values: dict[str, Any]) -> RowError:
    missing = next(f for f in _KEY_FIELDS if values.get(f) is None)
    column = next(i for i, c in enumerate(template.columns) if c.field == missing)
    header = template.columns[column].header
    return RowError(
        number, template.letter(column), missing, f"'{header}' is empty: the row needs it"
    )


def _add_row(
    template: Template,
    group: Group,
    number: int,
    values: dict[str, Any],
    owner: dict[str, Any],
) -> None:
    group.rows.append(number)
    for path, value in values.items():
        if path not in group.values:
            group.values[path] = value
            group.source[path] = number
        elif group.values[path] != value:
            column = _column_of(template, path)
            group.errors.append(
                RowError(
                    number, column, path,
                    f"differs from row {group.source[path]} of the same parcel "
                    f"({group.values[path]!r}): the rows of one record must agree",
                )
            )  # fmt: skip
    if owner:
        group.owners.append(owner)
        group.owner_rows.append(number)


def _column_of(template: Template, path: str) -> str | None:
    owner_path = re.sub(r"^owners\[\d+\]", "owners[]", path)
    for i, c in enumerate(template.columns):
        if c.field in (path, owner_path):
            return template.letter(i)
    return None


@functools.cache
def _route(path: str) -> tuple[int | None, tuple[str, ...]]:
    """Where a field path goes: (land-use index or None, the keys down to the value)."""
    if match := _USE.match(path):
        return int(match.group(1)), (match.group(2),)
    return None, tuple(path.split("."))


def _nest(values: dict[str, Any], owners: list[dict[str, Any]]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    uses: dict[int, dict[str, Any]] = {}
    for path, value in values.items():
        use, parts = _route(path)
        if use is not None:
            uses.setdefault(use, {})[parts[0]] = value
            continue
        target = record
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    if uses:
        # Kept at their own index so an error's location names the right column group.
        record.setdefault("parcel", {})["land_uses"] = [
            uses.get(i, {}) for i in range(max(uses) + 1)
        ]
    record["owners"] = owners
    return record


def submission_id(record: dict[str, Any]) -> str:
    """``f01-{commune}-{sheet}-{parcel}-{digest of the content}`` (docs/form01.md).

    The content is the record as read (cells already trimmed and NFC), without its id and
    template version, as JSON with sorted keys.
    """
    content = {k: v for k, v in record.items() if k not in ("submission_id", "template_version")}
    digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
    parcel = record["parcel"]
    return f"f01-{record['commune_code']}-{parcel['map_sheet']}-{parcel['parcel_no']}-{digest[:12]}"


def _finish(template: Template, group: Group) -> None:
    record = _nest(group.values, group.owners)
    record["template_version"] = template.version
    record["submission_id"] = "pending"
    try:
        Form01Record.model_validate_json(orjson.dumps(record))
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            group.errors.append(_located(template, group, list(error["loc"]), error["msg"]))
        return
    if group.errors:
        return
    record["submission_id"] = submission_id(record)
    group.record = record


def _located(template: Template, group: Group, loc: list[Any], msg: str) -> RowError:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    row = group.rows[0]
    if len(loc) > 1 and loc[0] == "owners" and isinstance(loc[1], int):
        row = group.owner_rows[loc[1]] if loc[1] < len(group.owner_rows) else row
    else:
        row = group.source.get(path, row)
    return RowError(row, _column_of(template, path), path, msg)
