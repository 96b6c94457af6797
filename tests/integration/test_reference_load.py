"""`landsync registry load` against the real PostgreSQL: load, reload, refuse bad lines."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from shared.reference import store
from shared.reference.parse import ParseResult, parse_lines
from shared.settings import Settings
from tests.support import landsync

# Test rows use a birth province (099) and a commune (99999) that real data never has.
_RESIDENTS = """personal_id,legacy_id,full_name,date_of_birth,sex,status,commune_code
099080000001,121234567,Nguyễn Văn An,1980-03-02,male,alive,99999
099185000002,,Trần Thị Lan,1985-07-09,female,alive,99999
09908000003,,Too Short,1980-01-01,male,alive,99999
099080000004,,Bad Date,1980-02-30,male,alive,99999
099080000005,,Odd Status,1980-01-01,male,missing,99999
"""
_CERTIFICATES = """serial,book_number,issued_on,commune_code,map_sheet,parcel_no,holder_ids,\
status,mortgage_bank,mortgage_registered_on,mortgage_released_on
bđ 123456,CH00022,2010-04-01,99999,3,17,099080000001;099185000002,valid,Agribank,2015-01-01,
BĐ 123456,CH00022,2010-04-01,99999,3,18,099080000001;099185000002,valid,,,
AA 06654954,CS06999,2025-01-10,99999,4,1,099080000001,superseded,,,
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
async def clean(db: asyncpg.Pool[Any]) -> AsyncIterator[asyncpg.Pool[Any]]:
    yield db
    await db.execute("DELETE FROM residents WHERE commune_code = '99999'")
    await db.execute("DELETE FROM certificates WHERE commune_code = '99999'")


async def test_residents_load_with_name_keys_and_bad_lines_are_refused_by_line(
    settings: Settings, clean: asyncpg.Pool[Any], tmp_path: Path
) -> None:
    done = landsync(
        settings, "registry", "load", "residents", str(_write(tmp_path / "r.csv", _RESIDENTS))
    )
    assert done.returncode == 0, done.stderr
    assert "2 rows loaded" in done.stderr
    assert "3 lines refused" in done.stderr
    assert "line 4 (personal_id not 12 digits)" in done.stderr
    assert "date_of_birth not a YYYY-MM-DD date" in done.stderr
    assert "rows/s" in done.stderr
    row = await clean.fetchrow("SELECT * FROM residents WHERE personal_id = '099080000001'")
    assert row is not None
    assert (row["name_key"], row["legacy_id"], str(row["date_of_birth"])) == (
        "nguyen van an",
        "121234567",
        "1980-03-02",
    )


async def test_a_reload_updates_changed_rows_and_keeps_rows_absent_from_the_file(
    settings: Settings, clean: asyncpg.Pool[Any], tmp_path: Path
) -> None:
    landsync(settings, "registry", "load", "residents", str(_write(tmp_path / "a.csv", _RESIDENTS)))
    changed = (
        "personal_id,legacy_id,full_name,date_of_birth,sex,status,commune_code\n"
        "099080000001,121234567,Nguyễn Văn Ân,1980-03-02,male,deceased,99999\n"
    )
    done = landsync(
        settings, "registry", "load", "residents", str(_write(tmp_path / "b.csv", changed))
    )
    assert done.returncode == 0, done.stderr
    rows = await clean.fetch(
        "SELECT personal_id, status, name_key FROM residents WHERE commune_code = '99999'"
        " ORDER BY personal_id"
    )
    assert [tuple(r) for r in rows] == [
        ("099080000001", "deceased", "nguyen van an"),
        ("099185000002", "alive", "tran thi lan"),
    ]


async def test_certificates_load_one_row_per_parcel_with_normalised_serial_keys(
    settings: Settings, clean: asyncpg.Pool[Any], tmp_path: Path
) -> None:
    done = landsync(
        settings, "registry", "load", "certificates", str(_write(tmp_path / "c.csv", _CERTIFICATES))
    )
    assert done.returncode == 0, done.stderr
    assert "1 lines refused" in done.stderr
    assert "status not valid, revoked or replaced" in done.stderr
    rows = await clean.fetch(
        "SELECT serial_key, parcel_no, holder_ids, mortgage_bank FROM certificates"
        " WHERE commune_code = '99999' ORDER BY parcel_no"
    )
    assert [tuple(r) for r in rows] == [
        ("BĐ123456", 17, ["099080000001", "099185000002"], "Agribank"),
        ("BĐ123456", 18, ["099080000001", "099185000002"], None),
    ]


async def test_a_file_without_the_contract_columns_is_unusable(
    settings: Settings, clean: asyncpg.Pool[Any], tmp_path: Path
) -> None:
    bad = _write(tmp_path / "bad.csv", "personal_id,full_name\n099080000001,Nguyễn Văn An\n")
    done = landsync(settings, "registry", "load", "residents", str(bad))
    assert done.returncode == 2
    assert "missing columns: legacy_id, date_of_birth, sex, status, commune_code" in done.stderr
    assert await clean.fetchval("SELECT count(*) FROM residents WHERE commune_code = '99999'") == 0


async def test_a_bulk_load_rebuilds_the_secondary_indexes_and_keeps_them(
    clean: asyncpg.Pool[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "BULK_ROWS", 1)  # treat this small file as a bulk load
    result = ParseResult()
    chunks = parse_lines("residents", csv.reader(io.StringIO(_RESIDENTS)), result)
    async with clean.acquire() as conn:
        changed = await store.load_rows(conn, "residents", chunks, expected_rows=5)
    assert (changed, result.rows, sum(result.refused.values())) == (2, 2, 3)
    indexes = await clean.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'residents'")
    assert {"residents_pkey", "residents_legacy_id", "residents_name_dob"} <= {
        r["indexname"] for r in indexes
    }


def test_columns_may_come_in_any_order_and_a_repeated_key_keeps_the_last_line() -> None:
    text = (
        "sex,status,commune_code,personal_id,legacy_id,full_name,date_of_birth\n"
        "male,alive,99999,099080000001,,Nguyễn Văn An,1980-03-02\n"
        "male,deceased,99999,099080000001,,Nguyễn Văn An,1980-03-02\n"
    )
    result = ParseResult()
    rows = [
        r
        for chunk in parse_lines("residents", csv.reader(io.StringIO(text)), result)
        for r in chunk
    ]
    assert result.repeated_keys == 1
    assert [(r[0], r[6], r[-1]) for r in rows] == [
        ("099080000001", "alive", 2),
        ("099080000001", "deceased", 3),
    ]
