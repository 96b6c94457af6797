"""The caps that keep one uploaded file from taking the machine: size, zip entries, rows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What an import accepts; every cap is checked before the part it guards is parsed."""

    max_bytes: int = 50 * 1024 * 1024  # the file as uploaded
    max_rows: int = 200_000  # rows of the form's sheet, header included
    max_entries: int = 1_000  # parts of the xlsx zip (a real workbook has a few dozen)
    max_uncompressed: int = 500 * 1024 * 1024  # all parts, inflated, by the zip directory
    max_ratio: int = 200  # inflated ÷ compressed, per part (sheet XML is about 10-30)
