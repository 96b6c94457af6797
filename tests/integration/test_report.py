"""The campaign report's figures are the ledger's, counted another way."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from shared.report import campaign
from tests.conftest import KeyFactory
from tests.support import eventually, make_record, register


async def test_the_report_matches_a_direct_count_of_the_ledger(
    db: asyncpg.Pool[Any], intake: httpx.AsyncClient, new_key: KeyFactory
) -> None:
    key = await new_key("submitter", ["07339"])
    good, bad_scan, incomplete = (make_record("07339") for _ in range(3))
    await register(db, good, bad_scan, incomplete)
    bad_scan["scan_file"] = "IMG_1.pdf"
    incomplete["holder_type"] = None
    posted = await intake.post(
        "/v1/records", json=[good, bad_scan, incomplete], headers={"Authorization": f"Bearer {key}"}
    )
    ids = [r["record_id"] for r in posted.json()["results"]]

    async def decided() -> bool:
        n = await db.fetchval(
            "SELECT count(*) FROM records"
            " WHERE record_id = ANY($1::uuid[]) AND status <> 'received'",
            ids,
        )
        return bool(n == len(ids))

    await eventually(decided, timeout=60)
    async with db.acquire() as conn:
        rows = await campaign(conn)
    records = await db.fetch("SELECT commune_code, status, sync_state, reasons FROM records")

    province = rows[-1]
    assert province.commune_code is None
    assert province.rejected >= 2
    assert province.received == len(records)
    assert province.synced == sum(r["status"] == "synced" for r in records)
    assert province.rejected == sum(r["status"] == "rejected" for r in records)
    assert province.decided == sum(r["status"] != "received" for r in records)
    assert sum(r.received for r in rows[:-1]) == province.received
    rejected_incomplete = sum(
        r["status"] == "rejected" and any(x["code"] == "incomplete" for x in r["reasons"])
        for r in records
    )
    assert province.rejected_by_reason.get("incomplete", 0) == rejected_incomplete
    for row in rows[:-1]:
        mine = [r for r in records if r["commune_code"] == row.commune_code]
        assert row.received == len(mine)
        assert row.duplicates == sum(r["status"] == "duplicate" for r in mine)
