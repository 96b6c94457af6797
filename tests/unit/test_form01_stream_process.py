"""A large sheet streamed by a child process reads as it does in the importing process."""

from __future__ import annotations

import contextlib
import gc
import re
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from shared.form01 import stream_process
from shared.form01.errors import FormRefused
from shared.form01.limits import Limits
from shared.form01.reader import read_form
from shared.form01.rows import Parsed
from shared.form01.sources import open_sheet
from tests.form01_files import edited, form_file
from tests.support import make_record

IN_PROCESS = Limits(child_stream_rows=10**9)
BY_CHILD = Limits(child_stream_rows=1)  # every workbook: no large sheet needed to try it
_DMY = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")


def _outcome(parsed: Parsed) -> list[object]:
    """What an import does with the sheet: each record's rows, JSON and errors; loose rows."""
    groups = [(g.rows, g.record, [e.as_json() for e in g.errors]) for g in parsed.groups]
    return [groups, [e.as_json() for e in parsed.loose], parsed.rows]


def _children() -> set[int]:
    """This process's children streaming a sheet (Linux); a test session's stack aside."""
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        for pid in (task / "children").read_text().split():
            with contextlib.suppress(OSError):  # ended meanwhile
                command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                if stream_process.__name__.encode() in command:
                    found.add(int(pid))
    return found


def test_a_sheet_with_date_number_and_refused_cells_reads_the_same_by_a_child(
    tmp_path: Path,
) -> None:
    records = [make_record() for _ in range(40)]
    records[3]["owners"][0]["sex"] = "unknown"  # a refused cell, with its row error
    records[7]["parcel"]["area_m2"] = 250  # an int cell where most are floats
    path = form_file(tmp_path / "f.xlsx", records)
    with edited(path) as sheet:
        typed = 0
        # Dates as Excel keeps them when typed: date cells, not text. They are the cells the
        # frames cannot carry as they carry text and numbers.
        for row in sheet.iter_rows(min_row=3):
            for cell in row:
                if isinstance(cell.value, str) and (m := _DMY.match(cell.value)):
                    day, month, year = map(int, m.groups())
                    cell.value = datetime(year, month, day)  # noqa: DTZ001 - a calendar date
                    cell.number_format = "dd/mm/yyyy"
                    typed += 1
    assert typed >= 40

    by_child = read_form(path, BY_CHILD)

    assert _outcome(by_child) == _outcome(read_form(path, IN_PROCESS))
    assert len(by_child.submitted) == 39
    assert not _children()


def _rezipped(path: Path, part: str, edit: bytes, into: bytes) -> Path:
    """The workbook with one edit in a part's XML, written again with a right CRC-32."""
    damaged = path.with_name("damaged.xlsx")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(damaged, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == part:
                at = data.index(edit, len(data) // 2)
                data = data[:at] + into + data[at + len(edit) :]
            out.writestr(info, data, zipfile.ZIP_DEFLATED)
    return damaged


def test_ill_formed_xml_deep_in_the_sheet_is_the_same_refusal_by_a_child(tmp_path: Path) -> None:
    good = form_file(tmp_path / "f.xlsx", [make_record() for _ in range(300)])
    # Its zip is sound, so only the reader, past many rows, finds the sheet ill-formed.
    path = _rezipped(good, "xl/worksheets/sheet1.xml", b"<v>", b"<v><")  # a tag left open

    refusals = []
    for limits in (IN_PROCESS, BY_CHILD):
        with pytest.raises(FormRefused) as refused:
            read_form(path, limits)
        refusals.append((refused.value.code, refused.value.status, refused.value.message))

    assert refusals[0] == refusals[1]
    assert refusals[1][0] == "bad_file"
    assert refusals[1][2].startswith("a damaged .xlsx workbook (")
    assert not _children()


def test_a_refused_structure_stops_the_child_streaming_the_sheet(tmp_path: Path) -> None:
    path = form_file(tmp_path / "f.xlsx", [make_record() for _ in range(3_000)])
    with edited(path) as sheet:
        sheet["M2"] = "Ngày sinh"  # a renamed header: refused after the first rows are read

    with pytest.raises(FormRefused, match="column M") as refused:
        read_form(path, BY_CHILD)

    # The child had thousands of rows left to send: it is stopped by the time the refusal is
    # answered (its traceback, alive here, holds the reader's frames), not left on a full pipe.
    assert refused.traceback
    assert not _children()


def test_data_on_a_second_sheet_refused_before_any_row_stops_the_child(tmp_path: Path) -> None:
    path = form_file(tmp_path / "f.xlsx", [make_record()])
    with edited(path) as sheet:
        assert sheet.parent is not None
        sheet.parent.create_sheet("Sheet2")["B7"] = "more rows here"

    with pytest.raises(FormRefused, match="data on sheet 'Sheet2'") as refused:
        read_form(path, BY_CHILD)

    # Started with the workbook's opening, before any row was asked of it.
    assert refused.traceback
    assert not _children()


def test_a_sheet_let_go_unread_stops_its_child(tmp_path: Path) -> None:
    path = form_file(tmp_path / "f.xlsx", [make_record()])
    sheet = open_sheet(path, BY_CHILD)
    assert sheet.child is not None
    assert _children()  # started with the opening, waiting to be told the sheet

    del sheet  # never read nor closed, as a caller that forgets would leave it
    gc.collect()

    assert not _children()
