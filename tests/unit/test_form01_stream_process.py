"""A large sheet streamed by a child process reads as it does in the importing process."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import signal
import sys
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl.worksheet.worksheet import Worksheet
from structlog.testing import capture_logs

from shared.form01 import stream_process
from shared.form01.errors import FormRefused
from shared.form01.limits import Limits
from shared.form01.reader import read_form
from shared.form01.rows import Parsed
from shared.form01.sources import Sheet, open_sheet
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


def _renamed_header(sheet: Worksheet) -> None:
    sheet["M2"] = "Ngày sinh"  # refused after the first rows are read


def _data_on_a_second_sheet(sheet: Worksheet) -> None:
    assert sheet.parent is not None
    sheet.parent.create_sheet("Sheet2")["B7"] = "more rows here"  # refused before any row


@pytest.mark.parametrize(
    ("records", "edit", "refusal"),
    [(3_000, _renamed_header, "column M"), (1, _data_on_a_second_sheet, "data on sheet 'Sheet2'")],
    ids=["structure-after-rows", "second-sheet-before-rows"],
)
def test_a_refused_file_leaves_no_child_streaming_it(
    tmp_path: Path, records: int, edit: Callable[[Worksheet], None], refusal: str
) -> None:
    path = form_file(tmp_path / "f.xlsx", [make_record() for _ in range(records)])
    with edited(path) as sheet:
        edit(sheet)

    with pytest.raises(FormRefused, match=refusal) as refused:
        read_form(path, BY_CHILD)

    # The child (with thousands of rows left to send, or not yet told its sheet) is stopped by
    # the time the refusal is answered: its traceback, alive here, holds the reader's frames.
    assert refused.traceback
    assert not _children()


def _rows(sheet: Sheet) -> list[list[object]]:
    try:
        return list(sheet.rows)
    finally:
        sheet.close()


@pytest.mark.parametrize("read_first", [0, 700], ids=["before-any-row", "mid-sheet"])
def test_a_child_killed_while_streaming_loses_no_row_and_repeats_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read_first: int
) -> None:
    path = form_file(tmp_path / "f.xlsx", [make_record() for _ in range(3_000)])
    expected = _rows(open_sheet(path, IN_PROCESS))
    # A pipe of one page: the child, blocked on its next frame, is far from the end when killed.
    monkeypatch.setattr(stream_process, "_PIPE_BYTES", 4096)

    sheet = open_sheet(path, BY_CHILD)
    assert sheet.child is not None
    with capture_logs() as logs:
        got = list(itertools.islice(sheet.rows, read_first))
        os.kill(sheet.child._child.pid, signal.SIGKILL)  # as the kernel kills a child out of memory
        got += _rows(sheet)

    assert got == expected
    assert len(expected) > 3_000
    lost = [e for e in logs if e["event"] == "form01_child_stream_lost"]
    assert len(lost) == 1, logs
    assert lost[0]["rows_delivered"] < len(expected) - 1000  # the child had far to go
    assert not _children()


def test_a_child_that_cannot_start_leaves_the_sheet_read_in_the_importing_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = form_file(tmp_path / "f.xlsx", [make_record() for _ in range(50)])
    expected = _outcome(read_form(path, IN_PROCESS))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))  # Popen fails

    with capture_logs() as logs:
        outcome = _outcome(read_form(path, BY_CHILD))

    assert outcome == expected
    assert [e["event"] for e in logs] == ["form01_child_stream_not_started"]
    assert logs[0]["error"] == "FileNotFoundError"
