"""The campaign report's figures are the ledger's, counted another way."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

import asyncpg
import httpx
import pytest

from shared.report import campaign
from shared.states import status_sql
from tests.conftest import KeyFactory
from tests.integration.report_data import COMMUNES, Counts, ledger_counts, submit_campaign
from tests.support import COMMUNE, bearer, eventually, make_record, published, register, submit


async def test_the_report_matches_a_direct_count_of_the_ledger(
    db: asyncpg.Pool[Any], intake: httpx.AsyncClient, key: str
) -> None:
    good, bad_scan, incomplete = (make_record(COMMUNE) for _ in range(3))
    await register(db, good, bad_scan, incomplete)
    bad_scan["scan_file"] = "IMG_1.pdf"
    incomplete["holder_type"] = None

    await published(db, await submit(intake, key, good, bad_scan, incomplete))
    # One snapshot for both reads: earlier tests' records are still being synced meanwhile.
    async with db.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        rows = await campaign(conn)
        records = await conn.fetch(
            f"SELECT commune_code, {status_sql()} AS status, sync_state, reasons FROM records"
        )

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


async def _report_when_settled(
    db: asyncpg.Pool[Any], intake: httpx.AsyncClient, key: str
) -> tuple[dict[str, Any], str, dict[str | None, Counts]]:
    """The JSON and CSV reports, read while the ledger stands still."""
    auth = bearer(key)

    async def read() -> tuple[dict[str, Any], str, dict[str | None, Counts]] | None:
        before = await ledger_counts(db)
        as_json = await intake.get("/v1/reports/campaign", headers=auth)
        as_csv = await intake.get("/v1/reports/campaign", params={"format": "csv"}, headers=auth)
        assert as_json.status_code == as_csv.status_code == 200
        assert as_json.headers["content-type"].startswith("application/json")
        assert as_csv.headers["content-type"].startswith("text/csv")
        settled = await ledger_counts(db) == before
        return (as_json.json(), as_csv.text, before) if settled else None

    found: tuple[dict[str, Any], str, dict[str | None, Counts]] = await eventually(read, timeout=60)
    return found


def _figures(row: Mapping[str, Any]) -> tuple[int, ...]:
    return tuple(int(row[k]) for k in _COLUMNS)


_COLUMNS = ("received", "decided", "accepted", "synced", "rejected", "dead_lettered", "duplicates")


async def test_json_and_csv_over_http_equal_a_direct_count_of_the_ledger(
    db: asyncpg.Pool[Any], intake: httpx.AsyncClient, new_key: KeyFactory
) -> None:
    await submit_campaign(db, intake, new_key)
    body, text, counts = await _report_when_settled(db, intake, await new_key("operator"))

    by_commune = {row["commune_code"]: row for row in body["communes"]}
    assert set(by_commune) == {c for c in counts if c is not None}
    for code in COMMUNES:
        row, expected = by_commune[code], counts[code]
        assert _figures(row) == expected.numbers
        assert row["clean_rate"] == pytest.approx(expected.accepted / expected.decided)
        assert row["sync_rate"] == pytest.approx(expected.synced / expected.accepted)
        assert row["dead_lettered_by_reason"] == expected.dead_lettered_by_reason
        assert row["rejected_by_reason"] == expected.rejected_by_reason
    assert _figures(body["province"]) == counts[None].numbers

    lines = {row["commune_code"]: row for row in csv.DictReader(io.StringIO(text))}
    assert set(lines) == {c or "province" for c in counts}
    for where, expected in counts.items():
        line = lines[where or "province"]
        assert _figures(line) == expected.numbers
        for reason, n in expected.dead_lettered_by_reason.items():
            assert int(line[f"dead_lettered:{reason}"]) == n


async def test_any_role_reads_the_report_and_no_key_reads_nothing(
    intake: httpx.AsyncClient, new_key: KeyFactory
) -> None:
    path = "/v1/reports/campaign"
    for role, communes in (("viewer", []), ("operator", []), ("submitter", ["07339"])):
        key = await new_key(role, communes)
        answer = await intake.get(path, headers=bearer(key))
        assert answer.status_code == 200, role
        assert "province" in answer.json()
        page = await intake.get(path, params={"format": "html"}, headers=bearer(key))
        assert page.headers["content-type"].startswith("text/html")
        assert "<script" not in page.text

    for headers in ({}, {"Authorization": "Bearer lsk_nope_wrong"}):
        refused = await intake.get(path, params={"format": "html"}, headers=headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthenticated"

    key = await new_key("viewer")
    unknown = await intake.get(path, params={"format": "xml"}, headers=bearer(key))
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "invalid_request"


async def test_a_submitter_reads_only_its_own_communes_in_the_report(
    db: asyncpg.Pool[Any], intake: httpx.AsyncClient, new_key: KeyFactory
) -> None:
    await submit_campaign(db, intake, new_key)
    mine = COMMUNES[0]
    _, _, counts = await _report_when_settled(db, intake, await new_key("operator"))
    key = await new_key("submitter", [mine])
    body = (await intake.get("/v1/reports/campaign", headers=bearer(key))).json()
    assert [row["commune_code"] for row in body["communes"]] == [mine]
    # The total row sums what the key may see, not the whole province.
    assert _figures(body["province"]) == counts[mine].numbers
