"""Hostile and careless input (issue 10): every 202 is decided, and bad input is never a 500."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from shared.settings import Settings
from shared.states import reasons_sql, status_sql
from shared.topics import Topic
from tests.conftest import KeyFactory
from tests.support import (
    COMMUNE,
    bearer,
    eventually,
    fresh_owner,
    make_record,
    parcel_key_of,
    plain_producer,
    post_ndjson,
    register,
    submit,
)

OTHER = "07342"


@pytest.mark.parametrize(
    "path",
    [
        ("submission_id",),
        ("certificate", "serial"),
        ("owners", 0, "full_name"),
        ("parcel", "land_uses", 0, "code"),
    ],
    ids=lambda p: ".".join(map(str, p)),
)
async def test_a_nul_in_any_text_field_is_refused_alone_naming_the_field(
    intake: httpx.AsyncClient, db: asyncpg.Pool[Any], key: str, path: tuple[Any, ...]
) -> None:
    batch = [make_record(COMMUNE) for _ in range(3)]
    target: Any = batch[1]
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = "CK\x00031112"

    response = await intake.post("/v1/records", json=batch, headers=bearer(key))

    assert response.status_code == 202, response.text
    body = response.json()
    assert [r["index"] for r in body["results"]] == [0, 2]
    [error] = body["errors"]
    assert error["index"] == 1
    assert [(e["loc"], e["type"]) for e in error["errors"]] == [(list(path), "control_character")]
    stored = await db.fetchval(
        "SELECT count(*) FROM records WHERE submission_id = ANY($1::text[])",
        [r["submission_id"] for r in batch if "\x00" not in r["submission_id"]],
    )
    assert stored == 2  # the refused one is not in the ledger


@pytest.mark.parametrize("depth", [300, 1000])
async def test_json_nested_hundreds_of_levels_deep_is_a_4xx_not_a_500(
    intake: httpx.AsyncClient, key: str, depth: int
) -> None:
    good = orjson.dumps(make_record(COMMUNE))
    nested = orjson.dumps(make_record(COMMUNE))[:-1] + b',"colour":' + b"[" * depth
    nested += b"]" * depth + b"}"

    response = await intake.post(
        "/v1/records",
        content=b"[" + good + b"," + nested + b"]",
        headers={**bearer(key), "Content-Type": "application/json"},
    )
    ndjson = await post_ndjson(intake, key, orjson.dumps(make_record(COMMUNE)) + b"\n" + nested)

    for answer in (response, ndjson):
        assert answer.status_code == 202, answer.text[:300]  # the first record goes in
        assert [e["index"] for e in answer.json()["errors"]] == [1]


async def test_an_ndjson_line_over_the_record_limit_is_refused_alone(
    intake: httpx.AsyncClient, settings: Settings, key: str
) -> None:
    huge = orjson.dumps(make_record(COMMUNE, scan_file="x" * (settings.max_record_bytes + 10)))
    lines = [orjson.dumps(make_record(COMMUNE)), huge, orjson.dumps(make_record(COMMUNE))]

    response = await post_ndjson(intake, key, b"\n".join(lines))

    assert response.status_code == 202, response.text[:300]
    body = response.json()
    assert [r["index"] for r in body["results"]] == [0, 2]
    assert [(e["index"], e["errors"][0]["type"]) for e in body["errors"]] == [
        (1, "record_too_large")
    ]


async def test_submission_ids_are_per_commune_and_another_communes_id_looks_fresh(
    intake: httpx.AsyncClient, new_key: KeyFactory
) -> None:
    a_key = await new_key("submitter", [COMMUNE])
    b_key = await new_key("submitter", [OTHER])
    shared_id = f"tan-yen-{uuid.uuid4().hex[:8]}"
    a_record = make_record(COMMUNE, submission_id=shared_id)
    b_record = make_record(OTHER, submission_id=shared_id)  # same text, other content

    first = await intake.post("/v1/records", json=a_record, headers=bearer(a_key))
    squat = await intake.post("/v1/records", json=b_record, headers=bearer(b_key))
    again = await intake.post("/v1/records", json=b_record, headers=bearer(b_key))

    [a] = first.json()["results"]
    assert squat.status_code == 202  # neither a conflict nor a hint that A uses the id
    [b] = squat.json()["results"]
    assert b["status"] == "received"
    assert b["record_id"] != a["record_id"]
    assert again.json()["results"][0] == {**b, "status": "duplicate_submission"}


async def _decided(db: asyncpg.Pool[Any], record_ids: list[str]) -> bool:
    undecided: int = await db.fetchval(
        "SELECT count(*) FROM records WHERE record_id = ANY($1::uuid[]) AND decision = 'received'",
        record_ids,
    )
    return undecided == 0


async def _seconds_to_decide(
    intake: httpx.AsyncClient, db: asyncpg.Pool[Any], key: str, batch: list[dict[str, Any]]
) -> tuple[float, list[str]]:
    started = time.monotonic()
    ids = await submit(intake, key, *batch)
    assert len(ids) == len(batch)
    await eventually(lambda: _decided(db, ids), timeout=120, interval=0.05)
    return time.monotonic() - started, ids


@contextlib.asynccontextmanager
async def _a_bug_for(db: asyncpg.Pool[Any]) -> AsyncIterator[str]:
    """A bug met by records whose submission id starts with the mark yielded, as PostgreSQL itself
    raises it: a trigger refuses their decisions (but lets the dead-lettered state through)."""
    mark = f"explode-{uuid.uuid4().hex[:8]}"
    name = mark.replace("-", "_")
    await db.execute(
        f"""
        CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'a bug these records trigger'; END $$;
        CREATE TRIGGER {name} BEFORE UPDATE OF decision ON records FOR EACH ROW
        WHEN (NEW.submission_id LIKE '{mark}%'
              AND NOT NEW.reasons @> '[{{"code": "unprocessable"}}]')
        EXECUTE FUNCTION {name}();
        """
    )
    try:
        yield mark
    finally:
        await db.execute(f"DROP TRIGGER IF EXISTS {name} ON records; DROP FUNCTION {name}()")


async def test_records_the_consumer_gives_up_on_end_dead_lettered_and_cost_little(
    intake: httpx.AsyncClient, db: asyncpg.Pool[Any], new_key: KeyFactory
) -> None:
    async with _a_bug_for(db) as mark:
        key = await new_key("submitter", [COMMUNE])
        good = [make_record(COMMUNE) for _ in range(200)]
        await register(db, *good)
        clean_seconds, _ = await _seconds_to_decide(intake, db, key, good[:100])
        bad = [make_record(COMMUNE, submission_id=f"{mark}-{i}") for i in range(24)]
        mixed = good[100:]
        for i, record in enumerate(bad):
            mixed.insert(i * 4, record)
        mixed_seconds, ids = await _seconds_to_decide(intake, db, key, mixed)

    rows = await db.fetch(
        f"SELECT submission_id, {status_sql()} AS status, {reasons_sql()} AS reasons FROM records"
        " WHERE record_id = ANY($1::uuid[])",
        ids,
    )
    given_up = {r["submission_id"] for r in rows if r["status"] == "dead_lettered"}
    assert given_up == {r["submission_id"] for r in bad}
    assert {r["reasons"][0]["code"] for r in rows if r["status"] == "dead_lettered"} == {
        "unprocessable"
    }
    assert all(
        r["status"] == "accepted" or r["status"] == "synced"
        for r in rows
        if r["submission_id"] not in given_up
    )
    # Retried with backoff, then record by record, 24 bad records took 20 s or more: 3 s each.
    assert mixed_seconds - clean_seconds < 10, (clean_seconds, mixed_seconds)


async def test_an_undecodable_message_of_a_ledger_record_ends_it_dead_lettered(
    db: asyncpg.Pool[Any], settings: Settings
) -> None:
    record = make_record(COMMUNE)
    record_id = uuid.uuid4()
    await db.execute(
        "INSERT INTO records (record_id, submission_id, content_hash, commune_code, parcel_key,"
        " record) VALUES ($1, $2, '\\x00', $3, $4, $5::json)",
        record_id,
        record["submission_id"],
        COMMUNE,
        parcel_key_of(record),
        orjson.dumps(record).decode(),
    )
    # and its case, as intake writes it with the parcel's first record
    await db.execute(
        "INSERT INTO cases (parcel_key, commune_code) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        parcel_key_of(record),
        COMMUNE,
    )
    async with plain_producer(settings.bootstrap) as producer:
        await producer.send_and_wait(
            settings.topics.name(Topic.SUBMITTED),
            b'{"record_id": "' + str(record_id).encode() + b'", "commune_code": 7339}',
            key=parcel_key_of(record).encode(),
            headers=[("record.id", str(record_id).encode())],
        )

    async def final() -> Any:
        return await db.fetchrow(
            f"SELECT {status_sql()} AS status, {reasons_sql()} AS reasons FROM records"
            " WHERE record_id = $1 AND decision <> 'received'",
            record_id,
        )

    row = await eventually(final, timeout=60)
    assert row["status"] == "dead_lettered"
    assert [r["code"] for r in row["reasons"]] == ["undecodable"]


async def test_the_simulator_answers_a_non_string_parcel_key_as_invalid_json(
    settings: Settings,
) -> None:
    item = {"parcel_key": ["07339", 1, 2], "version": 1, "idempotency_key": "k", "plot": {}}
    async with httpx.AsyncClient(base_url=settings.service_url("national-db")) as client:
        response = await client.post(
            "/v1/parcels:batchUpsert",
            json={"items": [item]},
            headers=bearer(settings.national_db_token),
        )

    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert result["status"] == "invalid"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/dlq/owner-unresolved?since=99999999999d", None),
        ("POST", "/v1/dlq/owner-unresolved/replay", {"since": "99999999999d", "dry_run": True}),
        ("POST", "/v1/dlq/owner-unresolved/replay", {"record_id": "\u0000", "dry_run": True}),
        ("GET", "/v1/dlq/owner-unresolved/%00", None),
    ],
    ids=["list since", "replay since", "replay record_id", "show record_id"],
)
async def test_impossible_dead_letter_filters_are_422_not_500(
    intake: httpx.AsyncClient, new_key: KeyFactory, method: str, path: str, body: Any
) -> None:
    key = await new_key("operator")

    response = await intake.request(method, path, json=body, headers=bearer(key))

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_filter"


async def _trickle(host: str, port: int, data: bytes, every: float, until: float) -> float | None:
    """Send ``data`` a byte at a time; seconds until the server closed the connection, or None."""
    reader, writer = await asyncio.open_connection(host, port)
    started = time.monotonic()
    try:
        for byte in data:
            if time.monotonic() - started > until:
                return None
            writer.write(bytes([byte]))
            await writer.drain()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(every):
                    if await reader.read(1024) == b"":
                        return time.monotonic() - started
    except (ConnectionResetError, BrokenPipeError):
        return time.monotonic() - started
    finally:
        writer.close()
    return None


async def test_clients_sending_headers_a_byte_at_a_time_are_cut_off_and_others_still_served(
    intake: httpx.AsyncClient, settings: Settings
) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: intake\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
    port = int(settings.service_url("intake").rsplit(":", 1)[1])
    slow = [
        _trickle("127.0.0.1", port, head, every=0.2, until=settings.header_timeout_seconds + 8)
        for _ in range(100)
    ]
    cut_off, health = await asyncio.gather(asyncio.gather(*slow), intake.get("/healthz"))

    assert health.status_code == 200
    assert all(t is not None for t in cut_off), "a slow client kept its connection"
    assert max(t for t in cut_off if t is not None) < settings.header_timeout_seconds + 5


async def test_a_body_that_stops_arriving_gets_a_408(settings: Settings, key: str) -> None:
    port = int(settings.service_url("intake").rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"POST /v1/records HTTP/1.1\r\nHost: intake\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {key}\r\nContent-Length: 5000\r\n\r\n".encode()
            + b'[{"submission_id": '
        )
        await writer.drain()
        answer = b""
        async with asyncio.timeout(settings.body_timeout_seconds + 10):
            while b"}" not in answer and (chunk := await reader.read(4096)):
                answer += chunk  # the head and the JSON body may come in two reads
    finally:
        writer.close()

    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"request_timeout"' in answer


async def test_a_key_probing_the_registry_is_stopped_audited_and_counted(
    intake: httpx.AsyncClient, db: asyncpg.Pool[Any], settings: Settings, new_key: KeyFactory
) -> None:
    # Real residents, guessed birth dates: every decision says "differs from the registry's".
    prober, honest = await new_key("submitter", [COMMUNE]), await new_key("submitter", [COMMUNE])
    guesses = [fresh_owner(make_record(COMMUNE)) for _ in range(settings.registry_misses_per_hour)]
    await register(db, *guesses)
    for record in guesses:
        record["owners"][0]["date_of_birth"] = "1901-01-01"
    await _seconds_to_decide(intake, db, prober, guesses)

    async def refused() -> httpx.Response | None:
        answer = await intake.post("/v1/records", json=make_record(COMMUNE), headers=bearer(prober))
        return answer if answer.status_code == 429 else None

    answer = await eventually(refused, timeout=30, interval=1)
    other = await intake.post("/v1/records", json=make_record(COMMUNE), headers=bearer(honest))
    audit = await db.fetchval(
        "SELECT count(*) FROM audit_events WHERE actor = $1 AND action = 'registry_probe_refused'",
        prober.split("_")[1],
    )
    metrics = (await intake.get("/metrics")).text

    assert answer.json()["error"]["code"] == "registry_probe_limit"
    assert int(answer.headers["retry-after"]) > 0
    assert other.status_code == 202  # the limit is per key
    assert audit >= 1
    assert any(
        line.startswith("landsync_intake_registry_probe_refusals_total ")
        and float(line.split()[1]) >= 1
        for line in metrics.splitlines()
    )


async def test_a_bug_met_by_every_record_stops_reconcile_at_the_guard_until_it_is_fixed(
    intake: httpx.AsyncClient, db: asyncpg.Pool[Any], settings: Settings, key: str
) -> None:
    reconcile = settings.service_url("reconcile")
    async with _a_bug_for(db) as mark, httpx.AsyncClient(base_url=reconcile) as probe:
        records = [make_record(COMMUNE, submission_id=f"{mark}-{i}") for i in range(1500)]
        await register(db, *records)
        ids = await submit(intake, key, *records)

        async def stopped() -> httpx.Response | None:
            ready = await probe.get("/readyz")
            return ready if ready.status_code == 503 else None

        ready = await eventually(stopped, timeout=60)
        await asyncio.sleep(3)  # stopped, it dead-letters nothing more meanwhile
        poisoned = await db.fetchval(
            "SELECT count(*) FROM records WHERE record_id = ANY($1::uuid[])"
            " AND decision = 'dead_lettered'",
            ids,
        )
        gauge = (await probe.get("/metrics")).text
    # The bug is fixed (the trigger dropped): reconcile goes on by itself.
    await eventually(lambda: _decided(db, ids), timeout=120, interval=0.5)
    async with httpx.AsyncClient(base_url=reconcile) as probe:
        after = await probe.get("/readyz")

    assert "dead-lettered" in ready.json()["reasons"][0]
    assert "landsync_consumer_dlq_guard_tripped{" in gauge
    # A run of 30 per partition went to the DLQ, a few more where a partition moved between
    # worker processes (seen: 90-160 in all), not the 1,500 records.
    assert 0 < poisoned <= 10 * settings.dlq_guard_max_run
    assert after.json() == {"ready": True, "reasons": []}
