"""Cases (CONTRACT §6) through the real stack: corrected, closed, replayed, counted, listed."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import KeyFactory
from tests.support import (
    bearer,
    dead_lettered,
    eventually,
    forget_owner,
    fresh_owner,
    make_record,
    own_commune,
    register,
    registered_record,
    submit,
)


@pytest.fixture
async def key(new_key: KeyFactory, commune: str) -> str:
    """A submitter key for the test's commune."""
    return await new_key("submitter", [commune])


async def _status(intake: httpx.AsyncClient, key: str, record_id: str) -> dict[str, Any]:
    response = await intake.get(f"/v1/records/{record_id}", headers=bearer(key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _decided(intake: httpx.AsyncClient, key: str, *record_ids: str) -> None:
    async def done() -> bool:
        for record_id in record_ids:
            if (await _status(intake, key, record_id))["status"] == "received":
                return False
        return True

    await eventually(done, timeout=90, interval=0.3)


async def _decide(intake: httpx.AsyncClient, key: str, *records: dict[str, Any]) -> list[str]:
    """Submit the records as one batch; their record ids, once every one is decided."""
    ids = await submit(intake, key, *records)
    await _decided(intake, key, *ids)
    return ids


async def _commune_row(intake: httpx.AsyncClient, key: str, commune: str) -> dict[str, Any]:
    body = (await intake.get("/v1/reports/campaign", headers=bearer(key))).json()
    [row] = [r for r in body["communes"] if r["commune_code"] == commune]
    return dict(row)


async def _worklist(
    intake: httpx.AsyncClient, key: str, **params: Any
) -> tuple[list[dict[str, Any]], str | None]:
    response = await intake.get("/v1/records", params=params, headers=bearer(key))
    assert response.status_code == 200, response.text
    body = response.json()
    return body["items"], body["next_cursor"]


async def test_a_rejected_record_corrected_for_the_same_parcel_cleans_its_case(
    db: asyncpg.Pool[Any], intake: httpx.AsyncClient, commune: str, key: str
) -> None:
    record = await registered_record(db, commune)
    wrong = {**record, "scan_file": "IMG_0001.pdf"}
    [rejected] = await _decide(intake, key, wrong)

    before = await _commune_row(intake, key, commune)
    [listed], _ = await _worklist(intake, key, commune=commune)
    fixed = {**record, "submission_id": record["submission_id"] + "-fix"}
    [corrected] = await _decide(intake, key, fixed)
    after = await _commune_row(intake, key, commune)
    still_open, _ = await _worklist(intake, key, commune=commune)

    assert (await _status(intake, key, rejected))["status"] == "rejected"
    assert (before["cases"], before["cases_open"], before["cases_cleaned"]) == (1, 1, 0)
    assert before["open_by_reason"] == {"scan_name_mismatch": 1}
    assert listed["record_id"] == rejected
    [reason] = listed["reasons"]
    assert reason["code"] == "scan_name_mismatch"
    assert reason["text_vi"].startswith("Tên tệp quét")
    assert "scan file" in reason["text_en"]
    assert "serial" in reason["action_en"]
    assert listed["certificate_serial"] == record["certificate"]["serial"]
    # Two submissions, one case: the correction raised the clean rate instead of lowering it.
    assert (after["cases"], after["cases_open"], after["cases_cleaned"]) == (1, 0, 1)
    assert after["case_clean_rate"] == 1.0
    assert (after["received"], after["rejected"], after["corrections"]) == (2, 1, 1)
    assert still_open == [], "a corrected case drops off the worklist"
    everything, _ = await _worklist(intake, key, commune=commune, open="false")
    assert [i["record_id"] for i in everything] == [rejected, corrected]


async def test_a_correction_naming_the_wrong_parcel_record_in_corrects_closes_that_case(
    db: asyncpg.Pool[Any], intake: httpx.AsyncClient, commune: str, key: str
) -> None:
    record = await registered_record(db, commune)
    mistyped = {**record, "parcel": {**record["parcel"], "parcel_no": 999_999}}
    [rejected] = await _decide(intake, key, mistyped)
    first = await _status(intake, key, rejected)

    fixed = {
        **record,
        "submission_id": record["submission_id"] + "-fix",
        "corrects": mistyped["submission_id"],
    }
    [corrected] = await _decide(intake, key, fixed)
    row = await _commune_row(intake, key, commune)
    cases = await db.fetch(
        "SELECT parcel_key, state, corrected_by::text FROM cases WHERE commune_code = $1", commune
    )

    assert "certificate_parcel_mismatch" in [r["code"] for r in first["reasons"]]
    assert (await _status(intake, key, corrected))["status"] in {"accepted", "synced"}
    assert (await _status(intake, key, corrected))["corrects_record_id"] == rejected
    # The mistyped parcel was never a case: closed as corrected, left out of the count.
    assert {r["state"]: r["corrected_by"] for r in cases} == {
        "corrected": corrected,
        "cleaned": None,
    }
    assert (row["cases"], row["cases_cleaned"], row["cases_open"]) == (1, 1, 0)
    assert row["corrections"] == 1
    assert (await _worklist(intake, key, commune=commune))[0] == []


async def test_a_replayed_dead_letter_cleans_the_same_case(
    db: asyncpg.Pool[Any], intake: httpx.AsyncClient, commune: str, key: str, new_key: KeyFactory
) -> None:
    operator = await new_key("operator")
    record = await registered_record(db, commune)
    await forget_owner(db, record)
    record_id = await dead_lettered(intake, db, key, record, timeout=90)
    before = await _commune_row(intake, key, commune)
    [listed], _ = await _worklist(intake, key, commune=commune, status="dead_lettered")
    await register(db, record)  # the registry now knows the owner
    replayed = await intake.post(
        "/v1/dlq/owner-unresolved/replay", json={"commune": commune}, headers=bearer(operator)
    )
    assert replayed.json()["replayed"] == 1, replayed.text

    async def cleaned() -> dict[str, Any] | None:
        row = await _commune_row(intake, key, commune)
        return row if row["cases_cleaned"] == 1 else None

    after = await eventually(cleaned, timeout=90, interval=0.5)
    assert (before["cases"], before["cases_open"]) == (1, 1)
    assert before["open_by_reason"] == {"owner_unresolved": 1}
    assert listed["record_id"] == record_id
    assert "replays" in listed["reasons"][0]["action_en"]
    assert (after["cases"], after["cases_open"], after["cases_cleaned"]) == (1, 0, 1)
    assert after["corrections"] == 0, "a replay decides the same record again: no correction"
    assert after["received"] == 1


async def test_the_case_figures_equal_a_direct_count_of_the_ledger_in_one_snapshot(
    db: asyncpg.Pool[Any], intake: httpx.AsyncClient, commune: str, key: str, new_key: KeyFactory
) -> None:
    operator = await new_key("operator")
    good = [fresh_owner(make_record(commune)) for _ in range(4)]
    await register(db, *good)
    rejected = [{**good[0], "submission_id": "x-" + good[0]["submission_id"], "scan_file": "a.pdf"}]
    rejected += [make_record(commune, holder_type=None) for _ in range(2)]  # incomplete
    await _decide(intake, key, *rejected, *good)

    async with db.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        records = await conn.fetch(
            "SELECT parcel_key, decision, sync_state, reasons, decided_at, record_id"
            " FROM records WHERE commune_code = $1 ORDER BY decided_at, record_id",
            commune,
        )
        from shared.report import campaign  # noqa: PLC0415

        [row, _] = await campaign(conn, [commune])

    by_parcel: dict[str, list[Any]] = {}
    for r in records:
        by_parcel.setdefault(r["parcel_key"], []).append(r)
    cleaned = {k for k, rs in by_parcel.items() if any(r["decision"] == "accepted" for r in rs)}
    open_ = {
        k: rs[-1] for k, rs in by_parcel.items()
        if k not in cleaned and rs[-1]["decision"] in {"rejected", "dead_lettered"}
    }  # fmt: skip
    synced = {k for k in cleaned if any(r["sync_state"] == "synced" for r in by_parcel[k])}
    assert row.cases == len(by_parcel) == 6
    assert row.cases_cleaned == len(cleaned) == 4
    assert row.cases_open == len(open_) == 2
    assert row.cases_synced == len(synced)
    assert row.open_by_reason == dict(
        Counter(x["code"] for r in open_.values() for x in r["reasons"])
    )
    assert row.corrections == 1  # good[0] corrected its rejected twin
    assert row.received == len(records)
    report = await _commune_row(intake, operator, commune)
    assert report["cases"] == 6


async def test_the_worklist_is_complete_and_stable_while_records_keep_arriving(
    db: asyncpg.Pool[Any], intake: httpx.AsyncClient, commune: str, key: str
) -> None:
    first = [make_record(commune, holder_type=None) for _ in range(25)]
    ids = await _decide(intake, key, *first)

    async def keep_arriving() -> None:
        for _ in range(5):
            await submit(intake, key, *(make_record(commune, holder_type=None) for _ in range(5)))
            await asyncio.sleep(0.2)

    arriving = asyncio.create_task(keep_arriving())
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"commune": commune, "limit": 4} | ({"cursor": cursor} if cursor else {})
        items, cursor = await _worklist(intake, key, **params)
        seen += [i["record_id"] for i in items]
        await asyncio.sleep(0.1)
        if cursor is None:
            break
    await arriving

    assert len(seen) == len(set(seen)), "no record twice"
    assert set(ids) <= set(seen), "every record decided before the listing began"
    decided_at = [(await _status(intake, key, record_id))["decided_at"] for record_id in seen]
    assert decided_at == sorted(decided_at), "newest decision last"


async def test_a_submitter_never_sees_another_communes_records(
    intake: httpx.AsyncClient, new_key: KeyFactory
) -> None:
    mine, theirs = own_commune(), own_commune()
    key, other = await new_key("submitter", [mine]), await new_key("submitter", [theirs])
    viewer = await new_key("viewer")
    mine_ids = await submit(intake, key, make_record(mine, holder_type=None))
    their_ids = await submit(intake, other, make_record(theirs, holder_type=None))
    await _decided(intake, key, *mine_ids)
    await _decided(intake, other, *their_ids)

    everything, _ = await _worklist(intake, key, open="false", limit=1000)
    refused = await intake.get("/v1/records", params={"commune": theirs}, headers=bearer(key))
    daily = await intake.get(
        "/v1/reports/campaign/daily", params={"commune": theirs}, headers=bearer(key)
    )
    seen_by_viewer = [
        i["record_id"]
        for commune in (mine, theirs)
        for i in (await _worklist(intake, viewer, commune=commune, open="false"))[0]
    ]

    assert {i["commune_code"] for i in everything} == {mine}
    assert refused.status_code == daily.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden_commune"
    assert {*mine_ids, *their_ids} == set(seen_by_viewer)
