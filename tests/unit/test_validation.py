"""Intake's validation: what a chunk of raw lines becomes, inline or in validator processes."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import unicodedata

import orjson
import pytest

from services.intake.validation import VALIDATOR_NAME, Checked, Line, Validator, check
from tests.support import descendants, make_record, parcel_key_of, parent_of


def _lines(count: int, bad_every: int = 0) -> list[Line]:
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
    checked = check(_lines(6, bad_every=3))

    assert checked.indexes == [2, 4, 8, 10]
    assert [e["index"] for e in checked.errors] == [0, 6]
    assert checked.errors[0]["errors"][0]["loc"] == ["parcel", "area_m2"]


def _same(a: Checked, b: Checked) -> bool:
    return a.indexes == b.indexes and a.records == b.records and a.errors == b.errors


def _validator_pids() -> set[int]:
    """The validator processes this process started (not those of a test stack's intake)."""
    me = os.getpid()
    return {
        p for p, name in descendants(me).items() if name == VALIDATOR_NAME and parent_of(p) == me
    }


@pytest.mark.timeout(120)
def test_validator_processes_give_the_same_outcome_and_survive_losing_one() -> None:
    lines = _lines(600, bad_every=7)
    expected = check(lines)

    killed: set[int] = set()
    replacements: set[int] = set()

    async def scenario() -> tuple[Checked, Checked, Checked]:
        validator = Validator(2)
        await validator.start()
        try:
            first = await validator.check(lines)
            while len(_validator_pids()) < 2:  # the second may still be starting
                await asyncio.sleep(0.1)
            killed.update(_validator_pids())
            for pid in killed:
                os.kill(pid, signal.SIGKILL)  # as the kernel's OOM killer would
            await asyncio.sleep(0.5)
            during = await validator.check(lines)  # the pool is broken: done here instead
            after = await validator.check(lines)  # on new validator processes
            replacements.update(_validator_pids())
        finally:
            validator.close()
        return first, during, after

    first, during, after = asyncio.run(scenario())

    assert len(killed) == 2
    assert replacements
    assert not replacements & killed

    assert _same(first, expected)
    assert _same(during, expected)
    assert _same(after, expected)
