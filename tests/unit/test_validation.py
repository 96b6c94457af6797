"""Intake's validation: what a chunk of raw lines becomes (the processes: tests/integration)."""

from __future__ import annotations

import hashlib
import unicodedata

import orjson

from services.intake.validation import Checked, Line, check
from tests.support import make_record, parcel_key_of


def chunk_lines(count: int, bad_every: int = 0) -> list[Line]:
    lines: list[Line] = []
    for i in range(count):
        record = make_record()
        if bad_every and i % bad_every == 0:
            record["parcel"]["area_m2"] = -1
        lines.append((i * 2, orjson.dumps(record)))  # indexes with gaps, as blank lines leave
    return lines


def test_valid_records_come_back_as_the_columns_the_ledger_stores() -> None:
    record = make_record()
    record["owners"][0]["full_name"] = unicodedata.normalize("NFD", "  Trần Thị Bình ")

    checked = check([(7, orjson.dumps(record))])

    assert checked.indexes == [7]
    assert checked.submission_ids == [record["submission_id"]]
    assert checked.commune_codes == [record["commune_code"]]
    assert checked.parcel_keys == [parcel_key_of(record)]
    stored = orjson.loads(checked.records[0])
    assert stored["owners"][0]["full_name"] == "Trần Thị Bình"  # NFC and trimmed
    assert checked.content_hashes == [hashlib.sha256(checked.records[0].encode()).digest()]
    assert checked.errors == []


def test_invalid_records_are_listed_by_their_index_with_the_field() -> None:
    checked = check(chunk_lines(6, bad_every=3))

    assert checked.indexes == [2, 4, 8, 10]
    assert [e["index"] for e in checked.errors] == [0, 6]
    assert checked.errors[0]["errors"][0]["loc"] == ["parcel", "area_m2"]


def same_outcome(a: Checked, b: Checked) -> bool:
    return a.indexes == b.indexes and a.records == b.records and a.errors == b.errors
