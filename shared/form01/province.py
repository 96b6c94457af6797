"""A generated province as Form 01 workbooks: a file per commune and round, and bad structures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from openpyxl import load_workbook

from shared.form01.export import write_xlsx
from shared.form01.reader import read_form
from shared.form01.template import TEMPLATES
from shared.normalize import serial_key

TEMPLATE = TEMPLATES["PL3-49"]


def _key(record: dict[str, Any]) -> tuple[Any, ...]:
    serial = (record.get("certificate") or {}).get("serial") or ""
    parcel = record["parcel"]
    return record["commune_code"], parcel["map_sheet"], parcel["parcel_no"], serial_key(serial)


def rounds(records: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split one commune's records into files in which no two share a certificate and parcel.

    Rows of one (serial, sheet, parcel) in one file are one record, so a re-submission of a
    parcel goes into the next file: imported in order, the parcel's records keep their order.
    """
    files: list[list[dict[str, Any]]] = []
    keys: list[set[tuple[Any, ...]]] = []
    last: dict[tuple[Any, ...], int] = {}
    for record in records:
        key = _key(record)
        index = last.get(key, -1) + 1
        if index == len(files):
            files.append([])
            keys.append(set())
        files[index].append(record)
        keys[index].add(key)
        last[key] = index
    return files


_BREAKS: dict[str, Callable[[Any], None]] = {
    "shifted_column": lambda sheet: sheet.insert_cols(13),
    "missing_column": lambda sheet: sheet.delete_cols(11),
    "merged_cells": lambda sheet: sheet.merge_cells("C3:C4"),
}


def write_province(
    out_dir: Path, phase_files: tuple[str, ...] = ("records.jsonl",)
) -> dict[str, int]:
    """``form01/`` beside the JSON files: workbooks, their truth, and broken copies with theirs."""
    folder = out_dir / "form01"
    folder.mkdir(exist_ok=True)
    counts = {"workbooks": 0, "structure_errors": 0}
    with (
        (folder / "truth.jsonl").open("wb") as truth_out,
        (folder / "files.txt").open("w") as order,
    ):
        for name in phase_files:
            records = [orjson.loads(line) for line in (out_dir / name).read_bytes().splitlines()]
            truths = {t["submission_id"]: t for t in _truth(out_dir, name)}
            by_commune: dict[str, list[dict[str, Any]]] = {}
            for record in records:
                by_commune.setdefault(record["commune_code"], []).append(record)
            for commune, mine in by_commune.items():
                for n, batch in enumerate(rounds(mine), start=1):
                    path = folder / f"{Path(name).stem}-{commune}-{n}.xlsx"
                    write_xlsx(path, TEMPLATE, batch)
                    order.write(f"{path.name}\n")
                    _write_truth(path, batch, truths, truth_out)
                    counts["workbooks"] += 1
    counts["structure_errors"] = _broken_copies(folder)
    return counts


def _truth(out_dir: Path, records_name: str) -> list[dict[str, Any]]:
    truth_name = records_name.replace("records", "truth")
    return [orjson.loads(line) for line in (out_dir / truth_name).read_bytes().splitlines()]


def _write_truth(
    path: Path,
    batch: list[dict[str, Any]],
    truths: dict[str, dict[str, Any]],
    out: Any,  # noqa: ANN401 - a multiprocessing connection
) -> None:
    """The generator's truth, under the ids the import gives the file's records."""
    parsed = read_form(path)
    by_first_row = sorted(parsed.records, key=lambda pair: pair[0].rows[0])
    if len(by_first_row) != len(batch):
        return  # a record the form cannot carry (refused at import): no truth line
    for record, (_, imported) in zip(batch, by_first_row, strict=True):
        line = dict(truths[record["submission_id"]], submission_id=imported["submission_id"])
        out.write(orjson.dumps(line) + b"\n")


def _broken_copies(folder: Path) -> int:
    """A copy of the first workbook per structure error, with ``structure-truth.jsonl``."""
    first = next(iter(sorted(folder.glob("records-*-1.xlsx"))), None)
    if first is None:
        return 0
    broken = folder / "structure"
    broken.mkdir(exist_ok=True)
    with (broken / "structure-truth.jsonl").open("wb") as truth:
        for name, damage in _BREAKS.items():
            workbook = load_workbook(first)
            damage(workbook.worksheets[0])
            target = broken / f"{first.stem}-{name}.xlsx"
            workbook.save(target)
            line = {"file": target.name, "outcome": "form_structure", "injected": [name]}
            truth.write(orjson.dumps(line) + b"\n")
    return len(_BREAKS)
