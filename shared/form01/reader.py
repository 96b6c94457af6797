"""Reads one Form 01 file: bad-file checks, the structure check, then rows into records."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from shared.form01.limits import Limits
from shared.form01.rows import Parsed, parse_rows
from shared.form01.sources import open_sheet
from shared.form01.structure import check

_pauses = 0
_was_enabled = True
_lock = threading.Lock()


def read_form(path: Path, limits: Limits | None = None) -> Parsed:
    """The file's records and row errors; raises ``FormRefused`` when the file is refused whole."""
    limits = limits or Limits()
    with _collector_paused():
        sheet = open_sheet(path, limits)
        with closing(sheet):  # a refused sheet's reader (a process, maybe) stops too
            form = check(sheet, limits)
            parsed = parse_rows(form.template, form.rows)
    parsed.header_row, parsed.sheet_name = form.header_row, sheet.name
    return parsed


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a file is read (in any thread of the process).

    The records built are trees, never cycles, but every one stays alive until the file is
    read: the collector re-scanned them again and again, half of the reading time measured.
    """
    global _pauses, _was_enabled  # noqa: PLW0603 - one collector per process
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()
