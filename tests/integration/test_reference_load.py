"""`landsync registry load` against the real PostgreSQL: load, reload, refuse bad lines."""

from __future__ import annotations

import csv
import subprocess
import sys
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from shared.normalize import serial_key
from shared.reference import store
from shared.reference.parse import CERTIFICATE_COLUMNS, Kind, ParseResult, UnusableFileError
from shared.reference.rules import CHECKS, WHITESPACE, _holders
from shared.settings import Settings
from tests.support import landsync, landsync_ok

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
_HEADER = "personal_id,legacy_id,full_name,date_of_birth,sex,status,commune_code\n"


def _said(done: subprocess.CompletedProcess[str]) -> str:
    """The command's messages with line wrapping undone (the console wraps at its width)."""
    return " ".join(done.stderr.split())


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _load(settings: Settings, path: Path, kind: Kind, text: str) -> str:
    """``landsync registry load <kind>`` of ``text``, written to ``path`` first, which must
    succeed; what it said."""
    return _said(landsync_ok(settings, "registry", "load", kind, str(_write(path, text))))


@pytest.fixture
async def clean(db: asyncpg.Pool[Any]) -> AsyncIterator[asyncpg.Pool[Any]]:
    yield db
    await db.execute("DELETE FROM residents WHERE commune_code = '99999'")
    await db.execute("DELETE FROM certificates WHERE commune_code = '99999'")


async def _load_file(
    pool: asyncpg.Pool[Any], kind: Kind, path: Path
) -> tuple[store.Loaded, ParseResult]:
    """``store.load_file`` of the file on a connection of its own: what it loaded and read."""
    result = ParseResult()
    async with pool.acquire() as conn:
        loaded = await store.load_file(conn, kind, path, result)
    return loaded, result


async def _load_into_empty(
    pool: asyncpg.Pool[Any], kind: Kind, path: Path
) -> tuple[store.Loaded, ParseResult, list[asyncpg.Record], set[str]]:
    """Load into the table emptied inside a transaction that is rolled back afterwards.

    Returns what the load said, the table's rows and index names as the load left them.
    """
    result = ParseResult()
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(f"DELETE FROM {kind}")
            loaded = await store.load_file(conn, kind, path, result)
            rows = await conn.fetch(f"SELECT * FROM {kind} ORDER BY 1, 2")
            indexes = await conn.fetch(
                "SELECT indexname FROM pg_indexes WHERE tablename = $1", kind
            )
        finally:
            await transaction.rollback()
    return loaded, result, rows, {r["indexname"] for r in indexes}


async def test_residents_load_with_name_keys_and_bad_lines_are_refused_by_line(
    settings: Settings, clean: asyncpg.Pool[Any], tmp_path: Path
) -> None:
    said = _load(settings, tmp_path / "r.csv", "residents", _RESIDENTS)
    assert "2 rows loaded" in said
    assert "3 lines refused" in said
    assert "line 4 (personal_id not 12 digits)" in said
    assert "line 5 (date_of_birth not a YYYY-MM-DD date)" in said
    assert "line 6 (status not alive or deceased)" in said
    assert "rows/s" in said
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
    _load(settings, tmp_path / "a.csv", "residents", _RESIDENTS)
    changed = _HEADER + "099080000001,121234567,Nguyễn Văn Ân,1980-03-02,male,deceased,99999\n"
    said = _load(settings, tmp_path / "b.csv", "residents", changed)
    assert "1 inserted or changed, upsert" in said
    rows = await clean.fetch(
        "SELECT personal_id, status, name_key FROM residents WHERE commune_code = '99999'"
        " ORDER BY personal_id"
    )
    assert [tuple(r) for r in rows] == [
        ("099080000001", "deceased", "nguyen van an"),
        ("099185000002", "alive", "tran thi lan"),
    ]
    again = _load(settings, tmp_path / "b.csv", "residents", changed)
    assert "(0 inserted or changed, upsert)" in again


async def test_certificates_load_one_row_per_parcel_with_normalised_serial_keys(
    settings: Settings, clean: asyncpg.Pool[Any], tmp_path: Path
) -> None:
    said = _load(settings, tmp_path / "c.csv", "certificates", _CERTIFICATES)
    assert "1 lines refused" in said
    assert "status not valid, revoked or replaced" in said
    rows = await clean.fetch(
        "SELECT serial, serial_key, parcel_no, holder_ids, mortgage_bank, mortgage_registered_on"
        " FROM certificates WHERE commune_code = '99999' ORDER BY parcel_no"
    )
    assert [tuple(r)[:5] for r in rows] == [
        ("bđ 123456", "BĐ123456", 17, ["099080000001", "099185000002"], "Agribank"),
        ("BĐ 123456", "BĐ123456", 18, ["099080000001", "099185000002"], None),
    ]
    assert str(rows[0]["mortgage_registered_on"]) == "2015-01-01"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (
            "personal_id,full_name\n099080000001,Nguyễn Văn An\n".encode(),
            "missing columns: legacy_id, date_of_birth, sex, status, commune_code",
        ),
        (
            (_HEADER + "099080000001,,Nguyen Van An,1980-03-02,male,alive,99999\n").encode()
            + "099080000002,,Tr\xe2n,1980-03-02,male,alive,99999\n".encode("latin-1"),
            "is unusable",
        ),
    ],
    ids=["without the contract columns", "not UTF-8"],
)
async def test_an_unusable_file_is_refused_with_why_and_nothing_is_loaded(
    settings: Settings, clean: asyncpg.Pool[Any], tmp_path: Path, content: bytes, says: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    done = landsync(settings, "registry", "load", "residents", str(bad))
    assert done.returncode == 2
    assert says in _said(done)
    assert await clean.fetchval("SELECT count(*) FROM residents WHERE commune_code = '99999'") == 0


async def test_lines_with_a_wrong_field_count_are_refused_by_line_and_the_rest_loads(
    settings: Settings, clean: asyncpg.Pool[Any], tmp_path: Path
) -> None:
    text = (
        _RESIDENTS
        + "099080000007,,Too Many,1980-01-01,male,alive,99999,extra\n"
        + "099080000008,,Too Few,1980-01-01\n"
    )
    said = _load(settings, tmp_path / "f.csv", "residents", text)
    assert "2 rows loaded" in said
    assert "5 lines refused" in said
    assert "line 7 (8 fields, header has 7)" in said
    assert "line 4 (personal_id not 12 digits)" in said


async def test_a_first_load_inserts_then_builds_the_key_and_indexes(
    clean: asyncpg.Pool[Any], tmp_path: Path
) -> None:
    loaded, result, rows, indexes = await _load_into_empty(
        clean, "residents", _write(tmp_path / "r.csv", _RESIDENTS)
    )
    assert loaded == store.Loaded(written=2, first_load=True)
    assert (result.lines, result.rows, sum(result.refused.values())) == (5, 2, 3)
    assert [r["personal_id"] for r in rows] == ["099080000001", "099185000002"]
    assert {"residents_pkey", "residents_legacy_id", "residents_name_dob"} <= indexes


@pytest.mark.parametrize("empty", [True, False], ids=["first load", "upsert"])
async def test_columns_may_come_in_any_order_and_a_repeated_key_keeps_the_last_line(
    clean: asyncpg.Pool[Any], tmp_path: Path, empty: bool
) -> None:
    path = _write(
        tmp_path / "o.csv",
        "sex,status,commune_code,personal_id,legacy_id,full_name,date_of_birth\n"
        "male,alive,99999,099080000001,,Nguyễn Văn An,1980-03-02\n"
        "male,deceased,99999,099080000001,,Nguyễn Văn An,1980-03-02\n"
        "female,alive,99999,099185000002,,Trần Thị Lan,1985-07-09\n",
    )
    if empty:
        loaded, result, rows, indexes = await _load_into_empty(clean, "residents", path)
        assert "residents_pkey" in indexes
    else:
        await clean.execute(
            "INSERT INTO residents VALUES"
            " ('099080000009', NULL, 'X', 'x', '1980-01-01', 'male', 'alive', '99999')"
        )
        loaded, result = await _load_file(clean, "residents", path)
        rows = await clean.fetch(
            "SELECT * FROM residents WHERE commune_code = '99999' ORDER BY personal_id"
        )
    assert loaded.first_load is empty
    assert (result.rows, result.repeated_keys, loaded.written) == (3, 1, 2)
    statuses = {r["personal_id"]: r["status"] for r in rows}
    assert (statuses["099080000001"], statuses["099185000002"]) == ("deceased", "alive")


async def test_values_padded_with_any_whitespace_are_trimmed_like_python_strip(
    clean: asyncpg.Pool[Any], tmp_path: Path
) -> None:
    text = (
        _HEADER
        + " 099080000001\xa0, 121234567 ,\u3000Nguyễn Văn An ,1980-03-02\t, male,alive ,99999\n"
        + "099185000002,,Trần Thị Lan,1985-07-09,female,alive,99999\n"
    )
    _, result = await _load_file(clean, "residents", _write(tmp_path / "w.csv", text))
    row = await clean.fetchrow("SELECT * FROM residents WHERE personal_id = '099080000001'")
    assert (result.rows, sum(result.refused.values())) == (2, 0)
    assert row is not None
    assert (row["legacy_id"], row["full_name"], row["name_key"], row["sex"]) == (
        "121234567",
        "Nguyễn Văn An",
        "nguyen van an",
        "male",
    )


async def test_a_value_the_quick_test_cannot_cast_sends_the_file_through_the_full_checks(
    clean: asyncpg.Pool[Any], tmp_path: Path
) -> None:
    # 2010-04-31 and x fail the quick test's casts; 007 needs the full checks (a leading zero).
    text = (
        "serial,book_number,issued_on,commune_code,map_sheet,parcel_no,holder_ids,status,"
        "mortgage_bank,mortgage_registered_on,mortgage_released_on\n"
        "AB 1,B1,2010-04-01,99999,007,1, 099080000001 ; ,valid, Agribank ,2015-01-01,\n"
        "AB 2,B2,2010-04-01,99999,1,2,ABCDEFGHIJKL,valid,,,\n"
        "AB 3,B3,2010-04-31,99999,1,3,,valid,,,\n"
        "AB 4,B4,,99999,1,0,,valid,,,\n"
        "AB 5,B5,,99999,1,5,,valid,,,\n"
        "AB 6,B6,,99999,x,6,,valid,,,\n"
    )
    _, result = await _load_file(clean, "certificates", _write(tmp_path / "c.csv", text))
    assert result.refused == {
        "holder_ids not 12-digit IDs separated by ;": 1,
        "issued_on not a YYYY-MM-DD date": 1,
        "parcel_no not a positive integer": 1,
        "map_sheet not a positive integer": 1,
    }
    assert [n for n, _ in result.examples] == [3, 4, 5, 7]
    rows = await clean.fetch(
        "SELECT serial_key, map_sheet, holder_ids, mortgage_bank FROM certificates"
        " WHERE commune_code = '99999' ORDER BY serial_key"
    )
    assert [tuple(r) for r in rows] == [
        ("AB1", 7, ["099080000001"], "Agribank"),
        ("AB5", 1, [], None),
    ]


async def test_a_header_only_file_loads_nothing(clean: asyncpg.Pool[Any], tmp_path: Path) -> None:
    result = ParseResult()
    async with clean.acquire() as conn:
        await store.load_file(conn, "residents", _write(tmp_path / "h.csv", _HEADER), result)
        with pytest.raises(UnusableFileError, match="missing columns"):
            await store.load_file(conn, "residents", _write(tmp_path / "e.csv", ""), result)
    assert (result.lines, result.rows) == (0, 0)


def test_the_sql_trim_removes_exactly_what_python_strip_removes() -> None:
    assert "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()) == WHITESPACE


def _certificates_file(path: Path, serials: list[str], holders: list[str] | None = None) -> Path:
    """A certificates file with one line per serial (parcel n on line n + 1), quoted by csv."""
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CERTIFICATE_COLUMNS)
        for n, serial in enumerate(serials, start=1):
            held = holders[n - 1] if holders else "099080000001"
            writer.writerow([serial, "B1", "2010-04-01", "99999", 1, n, held, "valid", "", "", ""])
    return path


# Serials SQL keys itself (ASCII) and ones it leaves to Python (any other character).
_TRICKY_SERIALS = [
    "ck 031112",
    " ck.031.112 ",
    "Ck-031/112",
    "ck_031 112",
    "c k\t0\n3\r1\x0b1\x0c1\x1c2\x1d\x1e\x1f",
    "ab//..--__  12",
    "a~b!c@d#e$f%g^h&i*j(k)l+m=n{o}p[q]r|s\\t:u;v\"w'x<y>z,a?b`c",
    "bđ 123456",
    "BĐ-123456",
    "BÐ 123456",
    "ð.1",
    "Ɖɖ 2",
    "Nguyễn ắ ơ ư 3",
    unicodedata.normalize("NFD", "đặng ờ 4"),
    "ck\xa0031\u3000112\u2009",
    "\u3000ab 5\xa0",
    "ß 6",
    "ﬁ 7",
]


async def test_serial_keys_computed_in_sql_are_serial_key_of_the_stripped_serial(
    clean: asyncpg.Pool[Any], tmp_path: Path
) -> None:
    # Every ASCII character but NUL (which a CSV file cannot carry to PostgreSQL) in a serial.
    serials = [*_TRICKY_SERIALS, *(f"x{chr(c)}y{chr(c)}" for c in range(1, 128))]
    path = _certificates_file(tmp_path / "s.csv", serials)
    _, result = await _load_file(clean, "certificates", path)
    rows = await clean.fetch(
        "SELECT parcel_no, serial, serial_key FROM certificates WHERE commune_code = '99999'"
    )
    assert (result.rows, result.refused) == (len(serials), {})
    assert len(rows) == len(serials)
    for parcel_no, serial, key in rows:
        written = serials[parcel_no - 1]
        assert (serial, key) == (written.strip(), serial_key(written.strip())), repr(written)


async def test_a_serial_of_separators_only_is_refused_by_line(
    clean: asyncpg.Pool[Any], tmp_path: Path
) -> None:
    path = _certificates_file(tmp_path / "m.csv", ["AB 1", " -./_ ", "", "\xa0.\u3000", "AB 5"])
    _, result = await _load_file(clean, "certificates", path)
    assert (result.rows, result.refused) == (2, {"serial missing": 3})
    assert result.examples == [(3, "serial missing"), (4, "serial missing"), (5, "serial missing")]


@pytest.mark.parametrize(
    "holders",
    [
        "",
        "099080000001",
        "099080000001;099185000002",
        "099080000001;099185000002;099185000003",
        "099080000001;099185000002;099185000003;099185000004",
        "0990800000011099185000002",
        "099080000001;09918500000a",
        "099080000001;+99185000002",
        "099080000001;-99185000002",
        "099080000001; 99185000002",
        "-99080000001",
        "+99080000001",
        "09908000000 ",
        "9908000000.1",
        "99080000_001",
        "0x9908000001",
        "1e9908000001",
        "ABCDEFGHIJKL",
        "099080000001;",
        ";099080000001",
        "099080000001;;099185000002",
        "Đ9908000001",
        "09908000000Đ;099185000002",
        "099080000001;09918500000Đ",
        "099080000001;099185000002;09918500000٣",
        "٠٩٩٠٨٠٠٠٠٠٠١",
    ],
)
async def test_the_quick_holder_test_accepts_what_the_full_check_accepts(
    clean: asyncpg.Pool[Any], holders: str
) -> None:
    # The full check (a regular expression) of the trimmed value, the quick one as it stands.
    refused_if = dict(CHECKS["certificates"])["holder_ids not 12-digit IDs separated by ;"]
    full = f"SELECT NOT ({refused_if}) FROM (SELECT $1::text AS holder_ids) v"
    quick = f"SELECT {_holders('holder_ids')} FROM (SELECT $1::text AS holder_ids) v"
    accepted = await clean.fetchval(full, holders)
    try:
        quickly = await clean.fetchval(quick, holders)
    except asyncpg.DataError:  # a cast failed: the file goes through the full checks
        quickly = False
    assert quickly == accepted


async def test_a_minus_sign_is_not_taken_for_a_digit_by_the_quick_test(
    clean: asyncpg.Pool[Any], tmp_path: Path
) -> None:
    # -99080000001 and -9999 are 12 and 5 characters long, and come back so from a bigint cast.
    residents = _HEADER + "-99080000001,-12345678,A,1980-01-01,male,alive,99999\n"
    certificates = (
        ",".join(CERTIFICATE_COLUMNS) + "\nAB 1,B1,2010-04-01,-9999,1,1,,valid,,,\n"
        "AB 2,B2,2010-04-01,99999,1,2,099080000001;-99185000002,valid,,,\n"
    )
    files: tuple[tuple[Kind, str], ...] = (("residents", residents), ("certificates", certificates))
    refused: dict[str, int] = {}
    async with clean.acquire() as conn:
        for kind, text in files:
            result = ParseResult()
            path = _write(tmp_path / f"{kind}.csv", text)
            await store.load_file(conn, kind, path, result)
            assert result.rows == 0
            refused |= result.refused
    assert refused == {
        "personal_id not 12 digits": 1,
        "commune_code not 5 digits": 1,
        "holder_ids not 12-digit IDs separated by ;": 1,
    }
