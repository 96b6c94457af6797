"""``landsync import``: a commune's workbook through the real intake, ledger and annotated copy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from shared.settings import Settings
from shared.stack import Stack
from tests.form01_files import cells_of, edited, form_file
from tests.support import landsync, make_record, mortgage, parcel_key_of, registered_record


async def _statuses(db: asyncpg.Pool[Any], prefix: str) -> dict[str, str]:
    rows = await db.fetch(
        "SELECT submission_id, status FROM records WHERE submission_id LIKE $1", f"{prefix}%"
    )
    return {r["submission_id"]: r["status"] for r in rows}


async def test_a_workbook_imports_its_good_records_and_annotates_the_bad_row(
    settings: Settings, stack: Stack, db: asyncpg.Pool[Any], tmp_path: Path
) -> None:
    records = [make_record("07339") for _ in range(3)]
    path = form_file(tmp_path / "xa-tan-yen.xlsx", records)
    with edited(path) as sheet:
        sheet["L4"] = "31/02/1985"  # the second record's birth date cannot be
    out = tmp_path / "checked.xlsx"

    done = landsync(settings, "import", str(path), "--annotated", str(out))

    assert done.returncode == 1, done.stderr
    assert "records received" in done.stderr
    cells = cells_of(out)
    assert [row[49] for row in cells[2:5]] == [
        "Đã nhận / received",
        "Bị từ chối / refused",
        "Đã nhận / received",
    ]
    stored = {
        (r["commune_code"], r["parcel_key"])
        for r in await db.fetch("SELECT commune_code, parcel_key FROM records")
    }
    sheet_parcels = {(r["commune_code"], parcel_key_of(r)) for r in records}
    assert len(stored & sheet_parcels) == 2

    again = landsync(settings, "import", str(path), "--annotated", str(out))

    assert again.returncode == 1
    assert [row[49] for row in cells_of(out)[2:5]] == [
        "Đã nhận trước đó / already received",
        "Bị từ chối / refused",
        "Đã nhận trước đó / already received",
    ]


def test_a_clean_workbook_exits_0_and_a_wrong_structure_exits_2_importing_nothing(
    settings: Settings, stack: Stack, tmp_path: Path
) -> None:
    good = form_file(tmp_path / "good.xlsx", [make_record("09187")])
    shifted = form_file(tmp_path / "shifted.xlsx", [make_record("09187")])
    with edited(shifted) as sheet:
        sheet.delete_cols(11)

    assert landsync(settings, "import", str(good)).returncode == 0
    refused = landsync(settings, "import", str(shifted))
    assert refused.returncode == 2
    assert "column K should be 'Giới tính'" in refused.stderr


async def test_commune_option_refuses_the_rows_of_another_commune_and_imports_the_rest(
    settings: Settings, stack: Stack, db: asyncpg.Pool[Any], tmp_path: Path
) -> None:
    mine, other = make_record("07339"), make_record("07342")
    path = form_file(tmp_path / "mixed.xlsx", [mine, other])
    out = tmp_path / "checked.xlsx"

    done = landsync(settings, "import", str(path), "--commune", "07339", "--annotated", str(out))

    assert done.returncode == 1, done.stderr  # a row was refused
    rows = cells_of(out)[2:4]
    assert [row[49] for row in rows] == ["Đã nhận / received", "Bị từ chối / refused"]
    assert "not commune 07339" in str(rows[1][50])
    stored = {r["commune_code"] for r in await db.fetch(
        "SELECT commune_code FROM records WHERE parcel_key = ANY($1::text[])",
        [parcel_key_of(r) for r in (mine, other)],
    )}  # fmt: skip
    assert stored == {"07339"}


async def test_with_wait_the_annotated_workbook_holds_each_records_decision(
    settings: Settings, stack: Stack, db: asyncpg.Pool[Any], tmp_path: Path
) -> None:
    accepted = await registered_record(db)
    unknown = make_record()  # its certificate is in no registry: rejected
    mortgaged = await registered_record(db)
    await mortgage(db, mortgaged)
    path = form_file(tmp_path / "xa-tan-yen.xlsx", [accepted, unknown, mortgaged])
    out = tmp_path / "checked.xlsx"

    done = landsync(settings, "import", str(path), "--annotated", str(out), "--wait")

    assert done.returncode == 0, done.stderr  # every row received: rejections are decisions
    assert "records rejected" in done.stderr
    rows = cells_of(out)[2:5]
    assert rows[0][49] in {"Đã chấp nhận / accepted", "Đã cập nhật CSDL quốc gia / synced"}
    assert rows[1][49] == "Bị trả lại / rejected"
    assert "certificate_not_found" in str(rows[1][50])
    assert rows[2][49] == "Chờ xử lý / dead-lettered"
    assert "mortgaged" in str(rows[2][50])

    # Imported again, unchanged: its records were decided before, and are shown so.
    again = landsync(settings, "import", str(path), "--annotated", str(out), "--wait")

    assert again.returncode == 0, again.stderr
    assert "records already received" in again.stderr
    assert [row[49] for row in cells_of(out)[3:5]] == [
        "Bị trả lại / rejected",
        "Chờ xử lý / dead-lettered",
    ]
