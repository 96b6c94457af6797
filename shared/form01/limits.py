"""The caps that keep one uploaded file from taking the machine: size, zip entries, rows."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _child_stream_rows() -> int:
    """10,000 rows where a second core is there to stream them; never on a single core."""
    return 10_000 if len(os.sched_getaffinity(0)) > 1 else 2**62


@dataclass(frozen=True)
class Limits:
    """What an import accepts; every cap is checked before the part it guards is parsed."""

    max_bytes: int = 50 * 1024 * 1024  # the file as uploaded
    max_rows: int = 200_000  # rows of the form's sheet, header included
    max_entries: int = 1_000  # parts of the xlsx zip (a real workbook has a few dozen)
    max_uncompressed: int = 500 * 1024 * 1024  # all parts, inflated, by the zip directory
    max_ratio: int = 200  # inflated ÷ compressed, per part (sheet XML is about 10-30)
    #: Not a cap: a sheet of at least this many rows is streamed by a process of its own
    #: (``stream_process``), beside the one converting them; a smaller one is read faster
    #: without starting a process (50 ms).
    child_stream_rows: int = field(default_factory=_child_stream_rows)
