"""Streams a workbook's or a CSV's rows as Python values, with what the structure check needs."""

from __future__ import annotations

import codecs
import collections
import csv
import itertools
import re
import zipfile
from collections.abc import Generator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from charset_normalizer import from_bytes
from python_calamine_plus import CalamineError, CalamineWorkbook, PasswordError

from shared.form01.cells import Value, text
from shared.form01.errors import bad_file
from shared.form01.inflate import DAMAGED, part_chunks
from shared.form01.limits import Limits
from shared.form01.sniff import sniff
from shared.form01.stream_process import ChildLost, ChildStream
from shared.logging import get_logger
from shared.normalize import fold_name

log = get_logger(__name__)

#: Sheets the reader never takes for data: the template's own instructions.
INSTRUCTION_SHEETS = frozenset({"huong dan", "instructions"})
# Each pattern starts with a literal, which the regex engine searches for fast: a pattern
# starting at every '<' (thirty a cell) cost more than inflating the sheet.
_FORMULA = re.compile(rb"f[\s>/]")  # tried only after a '<f' or ':f' found by bytes.find
_ROW = re.compile(rb'<(?:[A-Za-z0-9_]+:)?row [^>]*?r="(\d+)"')
_PREFIXED_ROOT = re.compile(rb"<[A-Za-z0-9_]+:worksheet[\s>]")
_MERGE = re.compile(rb'mergeCell [^>]*?ref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')
_FEW_F = 20_000  # per 1 MB chunk; text written inline in the sheet may have more
_MAX_COLUMNS = 208  # column GZ: whatever is wider is refused
_CHUNK = 1 << 20
_SEAM = 64  # bytes of each side of a seam between chunks: longer than any element looked for
Range = tuple[int, int, int, int]  # first row, first column, last row, last column (0-based)


@dataclass
class Sheet:
    """One form sheet: its rows from the top (0-based), and facts the structure check reads."""

    name: str
    height: int
    rows: Generator[list[Value], None, None]  # closed by the reader when it stops early
    merged: list[Range] = field(default_factory=list)
    other_data: tuple[str, str] | None = None  # (sheet, cell) of data on another sheet
    path: Path | None = None  # the workbook, for the formula check; None for CSV
    has_formulas: bool = False
    child: ChildStream | None = None  # the process streaming ``rows``, when one does

    def close(self) -> None:
        """Stop reading: the rows' file or stream, and the child process streaming them."""
        self.rows.close()
        if self.child is not None:
            self.child.close()


def open_sheet(path: Path, limits: Limits) -> Sheet:
    """The form's sheet of an .xlsx or CSV file; raises ``FormRefused`` for a bad file."""
    if sniff(path, limits) == "csv":
        return _csv_sheet(path)
    return _xlsx_sheet(path, limits)


def _xlsx_sheet(path: Path, limits: Limits) -> Sheet:
    # From the sheet's XML bytes first: the row count, width and merged ranges are known before
    # a row is read, so a huge or ill-formed sheet is refused without reading it.
    scan = _scan(path)
    if scan.rows > limits.max_rows:
        raise bad_file(
            f"the sheet has {scan.rows:,} rows: the limit is {limits.max_rows:,}", status=413
        )
    with ExitStack() as on_refusal:
        # A large sheet is streamed by a child process, started now (only once the scan has
        # checked every part's size): it opens the workbook while this process does too.
        child = _child(path) if scan.rows >= limits.child_stream_rows else None
        if child is not None:
            on_refusal.callback(child.close)
        workbook, name, other = _form_sheet(path)
        on_refusal.pop_all()
    return Sheet(
        name=name,
        height=scan.rows,
        rows=_streamed(workbook, name, child, path),
        merged=scan.merged.get(name, []),
        other_data=other,
        path=path,
        has_formulas=scan.formulas,
        child=child,
    )


def _form_sheet(path: Path) -> tuple[CalamineWorkbook, str, tuple[str, str] | None]:
    """The workbook, its form's sheet, and (sheet, cell) of data on another sheet, if any.

    The form's sheet is the first with data, the instructions' sheet aside.
    """
    with _calamine_errors():
        workbook = CalamineWorkbook.from_path(str(path))
        found: list[tuple[str, tuple[int, int]]] = []
        for meta in workbook.sheets_metadata:
            if fold_name(meta.name) in INSTRUCTION_SHEETS:
                continue
            first = _first_cell(workbook, meta.name)
            if first is not None:
                found.append((meta.name, first[:2]))
                _check_width(first[2])
            if len(found) == 2:  # the form's sheet and one more are all the check needs
                break
    if not found:
        raise bad_file("the sheet is empty: no rows to import")
    other = (found[1][0], _cell(*found[1][1])) if len(found) > 1 else None
    return workbook, found[0][0], other


@contextmanager
def _calamine_errors() -> Iterator[None]:
    """The reader's failures as refusals of the file (they may come from any row)."""
    try:
        yield
    except PasswordError as exc:
        raise bad_file(
            "the workbook is password-protected: save a copy without a password"
        ) from exc
    except CalamineError as exc:
        raise bad_file(f"a damaged .xlsx workbook ({exc}): save it again from Excel") from exc


def _first_cell(workbook: CalamineWorkbook, name: str) -> tuple[int, int, int] | None:
    """(row, column) of the sheet's first non-empty cell, and the sheet's width.

    Only as far as that cell is read. The stream pads every row to the sheet's width.
    """
    for row, cells in enumerate(workbook.stream_sheet_by_name(name)):
        for col, value in enumerate(cells):
            if value != "" and value is not None:
                return row, col, len(cells)
    return None


def _check_width(width: int) -> None:
    # A stray cell at XFD1 makes every row 16,384 cells long: refused before rows are read.
    if width > _MAX_COLUMNS:
        raise bad_file(
            f"the sheet reaches column {_letters(width)}: a Form 01 sheet has "
            f"at most {_MAX_COLUMNS} columns",
            status=413,
        )


def _child(path: Path) -> ChildStream | None:
    """A child streaming the sheet; none (the sheet is read here) when it cannot be started."""
    try:
        return ChildStream(path)
    except OSError as exc:  # out of processes, of memory, of file descriptors
        log.warning("form01_child_stream_not_started", error=type(exc).__name__)
        return None


def _streamed(
    workbook: CalamineWorkbook, name: str, child: ChildStream | None, path: Path
) -> Generator[list[Value], None, None]:
    # Row by row from the zip: memory stays flat whatever the sheet's height. Rows come from
    # row 1 and column A, padded to the sheet's width, so their index is the sheet's own.
    with _calamine_errors():
        if child is None:
            yield from workbook.stream_sheet_by_name(name)
            return
        del workbook  # the child streams: this process's copy of its strings is let go
        try:
            yield from child.rows(name)
        except ChildLost as lost:
            # The import goes on here, from the first row the child did not deliver: the
            # stream gives the same rows in the same order each time it is read.
            log.warning("form01_child_stream_lost", rows_delivered=lost.delivered)
            again = CalamineWorkbook.from_path(str(path)).stream_sheet_by_name(name)
            yield from itertools.islice(again, lost.delivered, None)


def _cell(row: int, col: int) -> str:
    from openpyxl.utils import get_column_letter  # noqa: PLC0415

    return f"{get_column_letter(col + 1)}{row + 1}"


@dataclass
class _Scan:
    rows: int = 0
    formulas: bool = False
    merged: dict[str, list[Range]] = field(default_factory=dict)  # by sheet name


def _letters(n: int) -> str:
    from openpyxl.utils import get_column_letter  # noqa: PLC0415

    return get_column_letter(min(n, 16384))


def _scan(path: Path) -> _Scan:
    """Rows, formulas and merged ranges of every worksheet, from the XML bytes.

    Every other part is inflated too, for its size and CRC-32 only: the reader does not check
    them, and a damaged part must refuse the file, not give other text.
    """
    found = _Scan()
    try:
        with zipfile.ZipFile(path) as archive:
            names = _sheet_names(archive)
            parts = archive.infolist()
        for info in parts:
            if not _is_worksheet(info.filename):
                collections.deque(part_chunks(path, info, _CHUNK), maxlen=0)  # read for its checks
                continue
            merged = _scan_part(path, info, found)
            if merged and info.filename in names:
                found.merged[names[info.filename]] = sorted(_range(ref.decode()) for ref in merged)
    except DAMAGED as exc:
        raise bad_file(f"a damaged .xlsx workbook ({exc}): save it again from Excel") from exc
    return found


def _is_worksheet(name: str) -> bool:
    return name.startswith("xl/worksheets/") and name.endswith(".xml")


def _scan_part(path: Path, info: zipfile.ZipInfo, found: _Scan) -> set[bytes]:
    """One worksheet's formulas and rows into ``found``; its merged ranges.

    Each chunk is searched alone and, for an element cut in two by the chunk's start, the seam
    with the chunk before it: no chunk is copied. Merged ranges come after the rows (the
    schema's order), so past the first chunk they are looked for after its last row only.
    """
    merged: set[bytes] = set()
    tail = b""
    prefixed = False  # whether its root, so its rows, are written x:worksheet
    for n, chunk in enumerate(part_chunks(path, info, _CHUNK)):
        if n == 0:
            prefixed = _PREFIXED_ROOT.search(chunk) is not None
        seam = tail + chunk[:_SEAM]
        found.formulas = found.formulas or _has_formula(seam) or _has_formula(chunk)
        found.rows = max(found.rows, _last_row(seam, prefixed=prefixed)[1])
        at, row = _last_row(chunk, prefixed=prefixed)
        found.rows = max(found.rows, row)
        merged.update(_MERGE.findall(seam))
        merged.update(_MERGE.findall(chunk, 0 if n == 0 else max(at, 0)))
        tail = chunk[-_SEAM:]
    return merged


def _last_row(data: bytes, *, prefixed: bool) -> tuple[int, int]:
    """Where the last row element in ``data`` starts, and its number; (-1, -1) when none."""
    at = data.rfind(b"<row ")
    if prefixed or at < 0:
        at = max(at, data.rfind(b":row "))
    if at >= 0 and (row := _ROW.search(data, max(at - 8, 0))):
        return at, int(row.group(1))
    return -1, -1


def _has_formula(window: bytes) -> bool:
    """Whether the XML holds an ``<f>`` element (``<x:f>`` with a namespace prefix too)."""
    # A sheet's XML has few f's (no element or attribute of a value cell has one): each is
    # found by memchr, faster than two searches for '<f' and ':f', which stop at every '<'.
    # Text written inline in the sheet may have many: past a few, the two searches go on.
    at = window.find(b"f")
    for _ in range(_FEW_F):
        if at < 0:
            return False
        if window[at - 1 : at] in (b"<", b":") and _FORMULA.match(window, at):
            return True
        at = window.find(b"f", at + 1)
    start = max(at - 1, 0)
    for mark in (b"<f", b":f"):
        at = window.find(mark, start)
        while at >= 0:
            if _FORMULA.match(window, at + 1):
                return True
            at = window.find(mark, at + 2)
    return False


def _sheet_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part → the sheet's name, from the workbook's own relations."""
    from openpyxl.reader.workbook import WorkbookParser  # noqa: PLC0415

    parser = WorkbookParser(archive, "xl/workbook.xml")
    try:
        parser.parse()
        return {rel.target.lstrip("/"): sheet.name for sheet, rel in parser.find_sheets()}
    except Exception:  # noqa: BLE001 - a workbook openpyxl cannot map is judged by the reader
        return {}


def _range(ref: str) -> Range:
    """``C5:C7`` as 0-based (first row, first column, last row, last column)."""
    from openpyxl.utils import range_boundaries  # noqa: PLC0415

    min_col, min_row, max_col, max_row = range_boundaries(ref)
    assert min_col is not None  # a mergeCell names both corners
    assert min_row is not None
    return (min_row - 1, min_col - 1, (max_row or min_row) - 1, (max_col or min_col) - 1)


def _csv_sheet(path: Path) -> Sheet:
    encoding = _csv_encoding(path)
    height = _count_lines(path)
    handle = path.open(encoding=encoding, newline="")
    sample = handle.read(8192)
    handle.seek(0)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel

    def rows() -> Generator[list[Value], None, None]:
        with handle:
            yield from csv.reader(handle, dialect)

    return Sheet(name=path.name, height=height, rows=rows())


def _count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(_CHUNK), b""))


def _csv_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) or UTF-16 with a BOM; anything else is refused clearly."""
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8"
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 1
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                bad = chunk[exc.start]
                line = lines + chunk[: exc.start].count(b"\n")
                guess = from_bytes(path.read_bytes()[: 1 << 20]).best()
                looks = f"; it looks like {guess.encoding}" if guess else ""
                raise bad_file(
                    f"not UTF-8 (byte 0x{bad:02X} on line {line}{looks}): save it as 'CSV UTF-8'"
                ) from exc
            lines += chunk.count(b"\n")
    return encoding


def first_cell_text(value: Value) -> str:
    """A cell's text for messages, shortened."""
    shown = text(value)
    return shown if len(shown) <= 40 else f"{shown[:37]}…"
