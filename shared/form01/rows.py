"""Owner rows to Form 01 records: grouped by certificate and parcel, converted column-wise."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Final, cast

import orjson

from shared.form01.cells import CellError, Value, batch_reader, converter, text
from shared.form01.shape import Shape
from shared.form01.structure import Rows
from shared.form01.template import Column, Template
from shared.normalize import serial_keys

_CONTINUATION = frozenset(
    {"commune_code", "parcel.map_sheet", "parcel.parcel_no", "certificate.serial"}
)


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


@dataclass(slots=True)
class Group:
    """The rows of one record: its record values (first row that gives each), each row's owner."""

    rows: list[int]
    values: list[Any]  # by record slot (the plan's record columns), None where no row gave one
    later: dict[int, int] | None = None  # slot → row, for a value first given by a later row
    owners: list[Sequence[Any]] = field(default_factory=list)  # by owner slot, one per row
    owner_rows: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    record: bytes | None = None  # the record to submit as JSON, once its rows agree
    commune_code: str | None = None  # the record's, kept beside its JSON

    def source(self, slot: int) -> int:
        """The row a record value came from."""
        return self.later.get(slot, self.rows[0]) if self.later else self.rows[0]


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
    def submitted(self) -> list[Group]:
        """The groups whose rows make a record (``Group.record``), in sheet order.

        Their validation is intake's (``POST /v1/records``): one pass, the same as for JSON.
        """
        return [g for g in self.groups if g.record is not None]

    @property
    def records(self) -> list[tuple[Group, dict[str, Any]]]:
        """:attr:`submitted` with each record decoded (small files: tests, the generator)."""
        return [(g, orjson.loads(g.record)) for g in self.submitted if g.record is not None]


_MISS = object()
#: A finished group's values and owners, and its errors when it has none: never appended to.
_LET_GO: Final = cast("list[Any]", ())
_MEMO_SIZE = 4096  # distinct cells remembered per column: codes, labels, names, areas repeat
_MEMO_SIZES = {"date": 40_000}  # a century of days: dates of birth and of issue all repeat


class _Column:
    """One template column's reader, remembering what each distinct cell value gave."""

    __slots__ = ("batch", "index", "letter", "memo", "name", "read", "size", "unique")

    def __init__(self, index: int, letter: str, name: str, column: Column) -> None:
        self.index, self.letter, self.name = index, letter, name
        self.read = converter(column)
        self.batch = batch_reader(column)
        self.unique = False  # most of its cells differ: the batch reader goes first
        self.memo: dict[Value, Any] = {"": None, None: None}
        self.size = _MEMO_SIZES.get(column.kind, _MEMO_SIZE)

    def convert(
        self, cells: Sequence[Value], numbers: list[int], errors: dict[int, list[RowError]]
    ) -> list[Any]:
        """The column's values for a batch of rows; a refused cell is None and an error."""
        # Serials, IDs and parcel numbers differ on every row: remembering them does not pay,
        # and checking a whole batch at once (cells.batch_reader) costs less than one call each.
        if self.unique and self.batch is not None and (found := self.batch(cells)) is not None:
            return found
        # A column the commune leaves empty: any() stops at a filled column's first cell, and
        # only an all-blank-looking one (0 and False look blank too) is counted exactly.
        if not any(cells) and cells.count("") == len(cells):
            return [None] * len(cells)
        memo = self.memo
        # A dict look-up per cell, in C: most cells repeat a value seen before.
        out = list(map(memo.get, cells, repeat(_MISS)))
        misses = out.count(_MISS)
        if not misses:
            return out
        if self.batch is not None and len(memo) >= self.size and misses * 4 > len(cells):
            self.unique = True  # the memo is full and a quarter of the cells still missed it
            if (found := self.batch(cells)) is not None:
                return found
        return self._read_missed(cells, out, numbers, errors)

    def _read_missed(
        self,
        cells: Sequence[Value],
        out: list[Any],
        numbers: list[int],
        errors: dict[int, list[RowError]],
    ) -> list[Any]:
        """``out`` with each cell the memo missed read (and remembered while there is room)."""
        memo, read = self.memo, self.read
        i = -1
        while True:
            try:  # the next cell not remembered: list.index compares in C, row by row
                i = out.index(_MISS, i + 1)
            except ValueError:
                break
            raw = cells[i]
            if (value := memo.get(raw, _MISS)) is not _MISS:  # read earlier in this batch
                out[i] = value
                continue
            try:
                value = read(raw)
            except CellError as exc:
                errors.setdefault(i, []).append(
                    RowError(numbers[i], self.letter, self.name, str(exc))
                )
                value = None
            else:
                # True == 1 == 1.0 as keys: a cell 0 or 1 is read each time, never remembered.
                if len(memo) < self.size and (raw.__class__ is str or not _zero_or_one(raw)):
                    memo[raw] = value
            out[i] = value
        return out


def _zero_or_one(raw: Value) -> bool:
    return raw.__class__ is bool or (raw.__class__ in (int, float) and raw in (0, 1))


@dataclass(frozen=True)
class _Plan:
    """How a template's columns are read: worked out once per template, not per cell."""

    record: tuple[tuple[int, str, str], ...]  # (index, letter, field) by record slot
    owner: tuple[tuple[int, str, str], ...]  # (index, letter, owner key) by owner slot
    key_slots: tuple[int, int, int]  # commune, map sheet, parcel number
    serial_slot: int
    continuation: tuple[int, ...]  # cell indexes left blank by another owner's row
    shape: Shape  # where each value goes in the record's JSON

    def columns(self, template: Template) -> tuple[list[_Column], list[_Column]]:
        """Fresh readers (with empty memos) for the record's and the owner's columns."""
        by_index = template.columns
        return (
            [_Column(i, letter, f, by_index[i]) for i, letter, f in self.record],
            [
                _Column(i, letter, by_index[i].field or "", by_index[i])
                for i, letter, _ in self.owner
            ],
        )


@functools.cache
def _plan(template: Template) -> _Plan:
    record = [
        (i, template.letter(i), c)
        for i, c in enumerate(template.columns)
        if c.field is not None and c.level != "owner"
    ]
    owner = [(i, template.letter(i), c) for i, c in enumerate(template.columns)
             if c.field is not None and c.level == "owner"]  # fmt: skip
    fields = [c.field for _, _, c in record]
    return _Plan(
        record=tuple((i, letter, c.field or "") for i, letter, c in record),
        owner=tuple((i, letter, _owner_key(c.field)) for i, letter, c in owner),
        key_slots=(fields.index("commune_code"), fields.index("parcel.map_sheet"),
                   fields.index("parcel.parcel_no")),
        serial_slot=fields.index("certificate.serial"),
        continuation=tuple(i for i, c in enumerate(template.columns) if c.field in _CONTINUATION),
        shape=Shape(template.version, [c.field or "" for _, _, c in record],
                    [_owner_key(c.field) for _, _, c in owner]),
    )  # fmt: skip


def _owner_key(path: str | None) -> str:
    return (path or "").removeprefix("owners[].")


def parse_rows(template: Template, batches: Iterable[Rows]) -> Parsed:
    """Group the rows and convert the cells into records (validated by intake, once).

    Cells are converted a column at a time over batches of rows, each column remembering the
    values it has read: the per-cell work is then mostly a dict look-up done in C.
    """
    parsed = Parsed(template)
    state = _State(parsed, _plan(template))
    for numbers, rows in batches:
        state.batch(numbers, rows)
    _finish(state.plan, parsed.groups)
    return parsed


class _State:
    """What grouping carries from one batch of rows to the next."""

    def __init__(self, parsed: Parsed, plan: _Plan) -> None:
        self.parsed, self.plan = parsed, plan
        self.record_columns, self.owner_columns = plan.columns(parsed.template)
        self.by_key: dict[tuple[Any, ...], Group] = {}
        self.previous: Group | None = None

    def batch(self, numbers: list[int], batch: list[list[Value]]) -> None:
        """Convert a batch column by column, then group its rows in sheet order."""
        grid = list(zip(*batch, strict=True))
        errors: dict[int, list[RowError]] = {}
        columns = [c.convert(grid[c.index], numbers, errors) for c in self.record_columns]
        owners = list(zip(*(c.convert(grid[c.index], numbers, errors)
                            for c in self.owner_columns), strict=True))  # fmt: skip
        plan = self.plan
        # Each row's key and how many owner cells it leaves blank, worked out in C.
        commune, sheet, parcel = (columns[slot] for slot in plan.key_slots)
        folded = serial_keys([serial or "" for serial in columns[plan.serial_slot]])
        keys = zip(commune, sheet, parcel, folded, strict=True)
        blanks = map(tuple.count, owners, repeat(None))
        none: list[RowError] = []
        by_row = map(errors.get, range(len(numbers)), repeat(none)) if errors else repeat(none)
        # The loop below runs once per row: what it reads is bound to locals first.
        by_key, groups, width = self.by_key, self.parsed.groups, len(self.owner_columns)
        rows = zip(
            numbers, keys, zip(*columns, strict=True), owners, blanks, by_row, batch, strict=False
        )  # by_row may repeat endlessly
        for number, key, values, owner, blank, row_errors, cells in rows:
            has_owner = blank != width
            if key[0] is None or key[1] is None or key[2] is None:
                self.keyless(number, (values, owner if has_owner else None), row_errors, cells)
                continue
            group = by_key.get(key)
            if group is None:
                # Positional (rows, values, later, owners, owner_rows, errors): keywords cost
                # the call 2.5 times as much, 40 ms of a 100,000-row sheet.
                group = by_key[key] = Group(
                    [number],
                    list(values),
                    None,
                    [owner] if has_owner else [],
                    [number] if has_owner else [],
                    list(row_errors),  # its own: row_errors may be the shared empty list
                )
                groups.append(group)
            else:
                group.errors += row_errors
                _add_row(plan, group, number, values, owner if has_owner else None)
            self.previous = group
        self.parsed.rows += len(numbers)

    def keyless(
        self,
        number: int,
        read: tuple[Sequence[Any], Sequence[Any] | None],
        errors: list[RowError],
        cells: Sequence[Value],
    ) -> None:
        """A row without commune, sheet or parcel: the record above's next owner, or refused."""
        previous, plan = self.previous, self.plan
        values, owner = read  # the row's record values, and its owner (None: no owner cell)
        if previous is not None and _continues(plan, values, owner is not None, errors, cells):
            previous.errors += errors
            _add_row(plan, previous, number, values, owner)
        else:
            self.parsed.loose += errors or [
                _key_missing(self.parsed.template, plan, number, values)
            ]


def _continues(
    plan: _Plan,
    values: Sequence[Any],
    has_owner: bool,
    errors: list[RowError],
    cells: Sequence[Value],
) -> bool:
    """A row that names no commune, serial, sheet nor parcel: another owner of the record above."""
    width = len(cells)
    key_blank = all(not text(cells[i]) for i in plan.continuation if i < width)
    return key_blank and (has_owner or bool(errors) or any(v is not None for v in values))


def _key_missing(template: Template, plan: _Plan, number: int, values: Sequence[Any]) -> RowError:
    slot = next(slot for slot in plan.key_slots if values[slot] is None)
    index, letter, missing = plan.record[slot]
    header = template.columns[index].header
    return RowError(number, letter, missing, f"'{header}' is empty: the row needs it")


def _add_row(
    plan: _Plan, group: Group, number: int, values: Sequence[Any], owner: Sequence[Any] | None
) -> None:
    """A later row of the record: its record values must agree with the rows before."""
    group.rows.append(number)
    known = group.values
    # Most later rows give only the key (commune, sheet and parcel, which found the group, and
    # the serial): nothing to compare but the serial as typed.
    serial = values[plan.serial_slot]
    given = len(values) - values.count(None)
    commune, sheet, parcel = plan.key_slots
    if (
        (
            (given == 3 and serial is None)
            or (given == 4 and serial is not None and serial == known[plan.serial_slot])
        )
        and values[commune] is not None
        and values[sheet] is not None
        and values[parcel] is not None
    ):
        if owner is not None:
            group.owners.append(owner)
            group.owner_rows.append(number)
        return
    for slot, value in enumerate(values):
        if value is None:
            continue
        before = known[slot]
        if before is None:
            known[slot] = value
            if group.later is None:
                group.later = {}
            group.later[slot] = number
        elif before != value:
            _, letter, path = plan.record[slot]
            group.errors.append(
                RowError(
                    number, letter, path,
                    f"differs from row {group.source(slot)} of the same parcel "
                    f"({before!r}): the rows of one record must agree",
                )
            )  # fmt: skip
    if owner is not None:
        group.owners.append(owner)
        group.owner_rows.append(number)


def column_of(template: Template, path: str) -> str | None:
    """The letter of the column a record field comes from (an owner's: ``owners[2].sex``)."""
    owner_path = re.sub(r"^owners\[\d+\]", "owners[]", path)
    for i, c in enumerate(template.columns):
        if c.field in (path, owner_path):
            return template.letter(i)
    return None


def _finish(plan: _Plan, groups: list[Group]) -> None:
    """Each group's record, unless a row of it was refused; the values are let go."""
    record_json, commune = plan.shape.record_json, plan.key_slots[0]
    for group in groups:
        if not group.errors:
            # As JSON: a third of the memory of the dicts, and what intake is sent anyway.
            group.record = record_json(group.values, group.owners)
            group.commune_code = group.values[commune]
            group.errors = _LET_GO
        # The record holds them now. One empty tuple, not new lists: the collector walks every
        # container left alive when it resumes (150,000 fewer on a 100,000-row sheet), and a
        # tuple refuses an append, should anything try one on a finished group.
        group.values = group.owners = _LET_GO


def located(template: Template, group: Group, loc: list[Any], msg: str) -> RowError:
    """An error of the record model (intake's), on the row and cell its field came from."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    row = group.rows[0]
    if len(loc) > 1 and loc[0] == "owners" and isinstance(loc[1], int):
        row = group.owner_rows[loc[1]] if loc[1] < len(group.owner_rows) else row
    else:
        slot = _slot_of(template, path)
        row = group.source(slot) if slot is not None else row
    return RowError(row, column_of(template, path), path, msg)


def _slot_of(template: Template, path: str) -> int | None:
    fields = [c.field for c in template.columns if c.field is not None and c.level != "owner"]
    return fields.index(path) if path in fields else None
