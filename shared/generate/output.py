"""Writes the generated files: residents, certificates, records and truth, per phase."""

from __future__ import annotations

import csv
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import orjson

from shared.generate.facts import CertificateRow, Person
from shared.reference.parse import CERTIFICATE_COLUMNS, RESIDENT_COLUMNS

#: Files of each phase. Phase 2 certificates are a delta: rows changed or added. The
#: corrections (the communes' fixes of rejected phase-1 records) come with no certificates.
FILES: dict[int | str, tuple[str | None, str, str]] = {
    1: ("certificates.csv", "records.jsonl", "truth.jsonl"),
    2: ("certificates.phase2.csv", "records.phase2.jsonl", "truth.phase2.jsonl"),
    "corrections": (None, "records.corrections.jsonl", "truth.corrections.jsonl"),
}


class Output:
    """The open output files of one run."""

    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self._files: list[IO[Any]] = []
        self._residents = csv.writer(self._open(out_dir / "residents.csv"))
        self._residents.writerow(RESIDENT_COLUMNS)
        self._certificates = {}
        self._records = {}
        self._truth = {}
        for phase, (certificates, records, truth) in FILES.items():
            if certificates is not None:
                self._certificates[phase] = csv.writer(self._open(out_dir / certificates))
                self._certificates[phase].writerow(CERTIFICATE_COLUMNS)
            self._records[phase] = self._open(out_dir / records, binary=True)
            self._truth[phase] = self._open(out_dir / truth, binary=True)

    def _open(self, path: Path, *, binary: bool = False) -> IO[Any]:
        f = path.open("wb") if binary else path.open("w", encoding="utf-8", newline="")
        self._files.append(f)
        return f

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for f in self._files:
            f.close()

    def residents(self, people: list[Person]) -> None:
        """Append residents (people the registry does not know are never passed here)."""
        self._residents.writerows(
            (p.personal_id, p.legacy_id or "", p.full_name, p.date_of_birth, p.sex, p.status,
             p.commune_code)
            for p in people
        )  # fmt: skip

    def certificates(self, rows: list[CertificateRow], phase: int = 1) -> None:
        """Append certificate rows."""
        self._certificates[phase].writerows(
            (r.serial, r.book_number, r.issued_on, r.commune_code, r.map_sheet, r.parcel_no,
             ";".join(r.holder_ids), r.status, r.mortgage_bank or "",
             r.mortgage_registered_on or "", r.mortgage_released_on or "")
            for r in rows
        )  # fmt: skip

    def records(
        self, labelled: list[tuple[dict[str, Any], Any, list[str]]], phase: int | str = 1
    ) -> None:
        """Append records and their truth lines, in the same order."""
        records, truth = self._records[phase], self._truth[phase]
        for record, verdict, injected in labelled:
            records.write(orjson.dumps(record) + b"\n")
            line = {
                "submission_id": record["submission_id"],
                "outcome": verdict.outcome,
                "reasons": verdict.reasons,
                "warnings": verdict.warnings,
                "injected": injected,
            }
            truth.write(orjson.dumps(line) + b"\n")
