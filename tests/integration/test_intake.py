"""Intake against the real stack: records reach the ledger and Kafka once, with the right key."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import orjson

from shared.settings import Settings
from shared.topics import Topic
from tests.conftest import KeyFactory
from tests.support import (
    COMMUNE,
    bearer,
    make_record,
    parcel_key_of,
    post_ndjson,
    read_topic,
    record_id_of,
    submit,
)


async def _published(settings: Settings, record_ids: set[str], timeout: float = 60) -> list[Any]:
    """Messages on land.records.submitted carrying any of ``record_ids``."""

    def found(messages: list[Any]) -> bool:
        return record_ids <= {record_id_of(m) for m in messages}

    messages = await read_topic(
        settings.bootstrap, settings.topics.name(Topic.SUBMITTED), until=found, timeout=timeout
    )
    return [m for m in messages if record_id_of(m) in record_ids]


async def test_a_posted_record_is_in_the_ledger_and_on_the_topic_keyed_by_parcel(
    intake: httpx.AsyncClient, db: asyncpg.Pool[Any], settings: Settings, key: str
) -> None:
    record = make_record(COMMUNE)

    response = await intake.post("/v1/records", json=record, headers=bearer(key))

    assert response.status_code == 202, response.text
    [result] = response.json()["results"]
    assert result["status"] == "received"
    row = await db.fetchrow("SELECT * FROM records WHERE record_id = $1::uuid", result["record_id"])
    assert row is not None
    # Its decision is reconcile's business and may already be taken (this record's certificate
    # is registered by no one: a fast reconcile rejects it before this query): not asserted.
    assert (row["submission_id"], row["commune_code"]) == (record["submission_id"], COMMUNE)
    assert row["parcel_key"] == parcel_key_of(record)
    [message] = await _published(settings, {result["record_id"]})
    assert message.key.decode() == parcel_key_of(record)
    value = orjson.loads(message.value)
    assert value["submission_id"] == record["submission_id"]
    assert dict(message.headers)["record.id"].decode() == result["record_id"]


async def test_resubmitting_a_submission_id_gives_the_same_record_id_and_no_second_message(
    intake: httpx.AsyncClient, settings: Settings, key: str
) -> None:
    record = make_record(COMMUNE)

    first = await intake.post("/v1/records", json=record, headers=bearer(key))
    again = await intake.post("/v1/records", json=[record, record], headers=bearer(key))

    record_id = first.json()["results"][0]["record_id"]
    assert again.status_code == 202
    assert [r["record_id"] for r in again.json()["results"]] == [record_id, record_id]
    assert {r["status"] for r in again.json()["results"]} == {"duplicate_submission"}
    # A later record of the same parcel is published after the first: once it is on the topic,
    # a duplicate of the first would be too.
    marker = make_record(COMMUNE, parcel=record["parcel"])
    marker_id = (await intake.post("/v1/records", json=marker, headers=bearer(key))).json()
    messages = await _published(settings, {record_id, marker_id["results"][0]["record_id"]})
    assert sum(record_id_of(m) == record_id for m in messages) == 1


async def test_a_reused_submission_id_with_other_content_is_refused(
    intake: httpx.AsyncClient, key: str
) -> None:
    record = make_record(COMMUNE)
    await intake.post("/v1/records", json=record, headers=bearer(key))

    changed = {**record, "scan_file": "other.pdf"}
    response = await intake.post("/v1/records", json=changed, headers=bearer(key))

    assert response.status_code == 422
    assert response.json()["errors"][0]["errors"][0]["type"] == "submission_conflict"


async def test_a_mixed_batch_receives_the_good_records_and_lists_the_bad_by_index(
    intake: httpx.AsyncClient, db: asyncpg.Pool[Any], key: str
) -> None:
    good = [make_record(COMMUNE) for _ in range(3)]
    bad_type = make_record(COMMUNE, parcel={"map_sheet": "twelve", "parcel_no": 1})
    bad_enum = make_record(COMMUNE, holder_type="landlord")
    batch = [good[0], bad_type, good[1], bad_enum, good[2]]

    response = await intake.post("/v1/records", json=batch, headers=bearer(key))

    assert response.status_code == 202
    body = response.json()
    assert [r["index"] for r in body["results"]] == [0, 2, 4]
    assert [e["index"] for e in body["errors"]] == [1, 3]
    assert body["errors"][0]["errors"][0]["loc"] == ["parcel", "map_sheet"]
    stored = await db.fetchval(
        "SELECT count(*) FROM records WHERE submission_id = ANY($1)",
        [r["submission_id"] for r in batch],
    )
    assert stored == 3


async def test_ndjson_bulk_is_received_line_by_line_with_errors_by_line(
    intake: httpx.AsyncClient, db: asyncpg.Pool[Any], settings: Settings, key: str
) -> None:
    records = [make_record(COMMUNE) for _ in range(2500)]
    lines = [orjson.dumps(r) for r in records]
    lines.insert(7, b"{not json")
    body = b"\n".join(lines) + b"\n"

    response = await post_ndjson(intake, key, body)

    assert response.status_code == 202, response.text
    payload = response.json()
    assert len(payload["results"]) == 2500
    assert [e["index"] for e in payload["errors"]] == [7]
    ids = {r["record_id"] for r in payload["results"]}
    stored = await db.fetchval(
        "SELECT count(*) FROM records WHERE record_id = ANY($1::uuid[])", list(ids)
    )
    assert stored == 2500
    assert len(await _published(settings, ids)) == 2500


async def test_a_parcels_records_keep_the_files_order_across_chunks_validated_in_parallel(
    intake: httpx.AsyncClient, settings: Settings, new_key: KeyFactory
) -> None:
    # Chunks of 2,000 lines validate at once on intake's validator processes; each parcel's
    # records must still be stored and published in the order of the file.
    key = await new_key("submitter", [COMMUNE])
    records = [make_record(COMMUNE) for _ in range(6500)]
    parcel = records[10]["parcel"]
    for position in (2100, 4300, 6400):
        records[position] = make_record(COMMUNE, parcel=parcel)
    body = b"\n".join(orjson.dumps(r) for r in records)

    response = await post_ndjson(intake, key, body)

    assert response.status_code == 202, response.text
    by_index = {r["index"]: r["record_id"] for r in response.json()["results"]}
    assert len(by_index) == 6500
    in_file_order = [by_index[i] for i in (10, 2100, 4300, 6400)]
    messages = await _published(settings, set(in_file_order))
    assert [record_id_of(m) for m in messages] == in_file_order


async def test_a_record_can_be_read_back_with_its_status(
    intake: httpx.AsyncClient, key: str
) -> None:
    [record_id] = await submit(intake, key, make_record(COMMUNE))

    response = await intake.get(f"/v1/records/{record_id}", headers=bearer(key))

    assert response.status_code == 200
    body = response.json()
    assert body["record_id"] == record_id
    assert body["status"] in {"received", "accepted", "synced"}
    assert body["reasons"] == []
    assert body["received_at"]


def _received_total(metrics_text: str) -> float:
    for line in metrics_text.splitlines():
        if line.startswith('landsync_intake_records_total{status="received"}'):
            return float(line.split()[-1])
    return 0.0


async def test_metrics_count_every_received_record_whichever_worker_took_it(
    intake: httpx.AsyncClient, key: str
) -> None:
    before = _received_total((await intake.get("/metrics")).text)

    for _ in range(10):  # separate requests, spread over intake's worker processes
        await intake.post("/v1/records", json=make_record(COMMUNE), headers=bearer(key))

    after = _received_total((await intake.get("/metrics")).text)
    assert after - before == 10


async def test_the_openapi_document_describes_the_record(intake: httpx.AsyncClient) -> None:
    spec = (await intake.get("/openapi.json")).json()

    record = spec["components"]["schemas"]["Form01Record"]
    assert set(record["required"]) == {"submission_id", "commune_code", "parcel"}
    assert "/v1/records:ndjson" in spec["paths"]
    assert (await intake.get("/docs")).status_code == 200
