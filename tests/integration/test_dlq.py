"""Dead-letter tooling against the real stack: list, show and replay, over HTTP and the CLI."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from shared.dlq import replay
from shared.dlq.model import parse_filter
from shared.kafka.dead_letters import Origin, dead_letter
from shared.kafka.producer import Producer
from shared.reference.parse import FILE_COLUMNS, Kind
from shared.settings import Settings
from shared.topics import Topic
from tests.conftest import KeyFactory
from tests.integration.plots import Simulator, accept, ledger, new_plots
from tests.support import (
    bearer,
    carrying,
    dead_lettered,
    eventually,
    forget_owner,
    landsync,
    landsync_ok,
    make_record,
    parcel_key_of,
    reaches,
    registered_record,
    started,
)


@pytest.fixture
async def operator(new_key: KeyFactory) -> str:
    """An operator key of the test's own (the audits are read by its key id)."""
    return await new_key("operator")


def _key_id(key: str) -> str:
    return key.split("_")[1]


async def _list_mortgaged(
    intake: httpx.AsyncClient, operator: str, **params: str
) -> httpx.Response:
    """``GET /v1/dlq/mortgaged`` as the operator, with these query parameters."""
    return await intake.get("/v1/dlq/mortgaged", params=params, headers=bearer(operator))


async def _replay_mortgaged(
    intake: httpx.AsyncClient, operator: str, **body: Any
) -> httpx.Response:
    """``POST /v1/dlq/mortgaged/replay`` as the operator, with this JSON body."""
    return await intake.post("/v1/dlq/mortgaged/replay", json=body, headers=bearer(operator))


async def _letters(
    settings: Settings, topic: Topic, commune: str, replay_counts: list[int], **record: Any
) -> list[str]:
    """Dead letters written straight to a DLQ topic, of records the ledger does not hold."""
    messages, ids = [], []
    for count in replay_counts:
        value = {**make_record(commune, **record), "record_id": str(uuid.uuid4())}
        ids.append(value["record_id"])
        origin = Origin(
            topic=settings.topics.name(Topic.SUBMITTED),
            partition=0,
            offset=0,
            timestamp_ms=int(time.time() * 1000),
            key=parcel_key_of(value).encode(),
            value=orjson.dumps(value),
            headers={"dlq.replay.count": str(count)},
        )
        messages.append(
            dead_letter(
                origin,
                topic=settings.topics.name(topic),
                reason="mortgaged",
                detail="mortgaged: held by Agribank",
                consumer_group="tests",
                record_id=value["record_id"],
                commune_code=commune,
            )
        )
    async with started(Producer(settings, client_id="tests-dlq")) as producer:
        await producer.publish_all(messages)
    return ids


async def _replayed(settings: Settings, ids: list[str]) -> list[Any]:
    """The messages on land.records.submitted that carry these records."""
    return await carrying(settings, Topic.SUBMITTED, ids)


async def _audits(db: asyncpg.Pool[Any], commune: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await db.fetch(
        "SELECT * FROM dlq_replays WHERE filter->>'commune' = $1 ORDER BY replay_id", commune
    )
    return rows


async def test_an_owner_loaded_later_is_replayed_from_the_cli_and_synced(
    settings: Settings,
    intake: httpx.AsyncClient,
    db: asyncpg.Pool[Any],
    new_key: KeyFactory,
    commune: str,
    operator: str,
    tmp_path: Path,
) -> None:
    submitter = await new_key("submitter", [commune])
    record = await registered_record(db, commune)
    owner = record["owners"][0]
    await forget_owner(db, record)
    record_id = await dead_lettered(intake, db, submitter, record)

    listed = landsync(settings, "dlq", "list", "owner-unresolved", "--commune", commune, "--json")
    assert listed.returncode == 0, listed.stderr
    body = json.loads(listed.stdout)
    assert [(d["record_id"], d["reason"]) for d in body["dead_letters"]] == [
        (record_id, "owner_unresolved")
    ]
    assert owner["personal_id"] not in listed.stdout
    assert owner["full_name"] not in listed.stdout
    table = landsync(settings, "dlq", "list", "owner-unresolved", "--commune", commune)
    assert table.returncode == 0, table.stderr
    assert "1 shown" in table.stderr
    shown = landsync(settings, "dlq", "show", "owner-unresolved", record_id)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["dead_letters"][0]["value"]["record_id"] == record_id
    assert owner["personal_id"] not in shown.stdout

    resident = f"{owner['personal_id']},,{owner['full_name']},{owner['date_of_birth']},male,alive"
    _load(settings, tmp_path, "residents", f"{resident},{commune}")
    replayed = landsync(
        settings, "dlq", "replay", "owner-unresolved", "--commune", commune, "--yes", "--json"
    )

    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["replayed"] == 1
    await reaches(intake, operator, record_id, "synced")
    [audit] = await _audits(db, commune)
    assert audit["actor"].startswith("cli:")
    assert (audit["queue"], audit["replayed"], audit["refused"]) == ("owner-unresolved", 1, 0)
    again = landsync(settings, "dlq", "list", "owner-unresolved", "--commune", commune, "--json")
    assert json.loads(again.stdout)["count"] == 0  # replayed dead letters are hidden


async def test_a_released_mortgage_is_replayed_over_http_and_the_record_accepted(
    settings: Settings,
    intake: httpx.AsyncClient,
    db: asyncpg.Pool[Any],
    new_key: KeyFactory,
    commune: str,
    operator: str,
    tmp_path: Path,
) -> None:
    submitter = await new_key("submitter", [commune])
    record = await registered_record(db, commune)
    parcel = record["parcel"]
    serial = record["certificate"]["serial"]
    row = (f"{serial},CS06999,2016-05-12,{commune},{parcel['map_sheet']},{parcel['parcel_no']},"
           f"{record['owners'][0]['personal_id']},valid,Agribank,2021-01-01,")  # fmt: skip
    _load(settings, tmp_path, "certificates", row)
    record_id = await dead_lettered(intake, db, submitter, record)
    listed = await _list_mortgaged(intake, operator, commune=commune)
    assert [d["record_id"] for d in listed.json()["dead_letters"]] == [record_id]

    _load(settings, tmp_path, "certificates", row + "2025-05-01")  # the mortgage is released
    replayed = await _replay_mortgaged(intake, operator, commune=commune)

    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["replayed"] == 1
    await reaches(intake, operator, record_id, "synced")
    stored = await db.fetchrow(
        "SELECT replay_count, reasons FROM records WHERE record_id = $1::uuid", record_id
    )
    assert stored is not None
    assert (stored["replay_count"], stored["reasons"]) == (1, [])


def _load(settings: Settings, tmp_path: Path, kind: Kind, row: str) -> None:
    """``landsync registry load <kind>`` of one CSV row under the file's header (CONTRACT §8)."""
    path = tmp_path / f"{kind}.csv"
    path.write_text(f"{','.join(FILE_COLUMNS[kind])}\n{row}\n", encoding="utf-8")
    landsync_ok(settings, "registry", "load", kind, str(path))


async def test_a_plot_the_national_database_refused_is_synced_once_replayed(
    settings: Settings,
    intake: httpx.AsyncClient,
    db: asyncpg.Pool[Any],
    operator: str,
    sim: Simulator,
) -> None:
    [plot] = new_plots(1)
    await sim.faults(reject_parcels=[plot.parcel_key])
    await accept(db, settings, [plot])

    async def failed() -> bool:
        row = (await ledger(db, [plot])).get(plot.record_id)
        return row is not None and row["sync_state"] == "failed"

    await eventually(failed, timeout=60)
    await sim.faults(reset=True)  # the national database takes the parcel now
    replayed = await intake.post(
        "/v1/dlq/sync-failed/replay", json={"record_id": plot.record_id}, headers=bearer(operator)
    )

    assert replayed.json()["replayed"] == 1, replayed.text
    await reaches(intake, operator, plot.record_id, "synced")
    row = (await ledger(db, [plot]))[plot.record_id]
    assert row["national_id"]
    assert row["reasons"] == []
    assert await sim.parcel(plot.parcel_key) is not None


async def test_a_replay_publishes_each_dead_letter_once_and_refuses_past_the_limit(
    settings: Settings,
    intake: httpx.AsyncClient,
    db: asyncpg.Pool[Any],
    commune: str,
    operator: str,
) -> None:
    ids = await _letters(settings, Topic.DLQ_MORTGAGED, commune, [0, 1, settings.dlq_max_replays])

    async def replay(**body: Any) -> dict[str, Any]:
        response = await _replay_mortgaged(intake, operator, commune=commune, **body)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    dry = await replay(dry_run=True)
    assert (dry["replayed"], dry["refused"], dry["skipped"], dry["replay_id"]) == (2, 1, 0, None)
    assert await _audits(db, commune) == []
    first = await replay()
    second = await replay()

    assert (first["replayed"], first["refused"], first["skipped"]) == (2, 1, 0)
    assert (second["replayed"], second["refused"], second["skipped"]) == (0, 1, 2)
    published = await _replayed(settings, ids)
    assert sorted(dict(m.headers)["dlq.replay.count"] for m in published) == [b"1", b"2"]
    audits = await _audits(db, commune)
    assert [(a["actor"], a["queue"], a["replayed"], a["refused"]) for a in audits] == [
        (_key_id(operator), "mortgaged", 2, 1),
        (_key_id(operator), "mortgaged", 0, 1),
    ]
    assert audits[0]["filter"]["commune"] == commune
    listed = await _list_mortgaged(intake, operator, commune=commune)
    assert [d["replay_count"] for d in listed.json()["dead_letters"]] == [3]
    everything = await _list_mortgaged(intake, operator, commune=commune, include_replayed="true")
    assert [d["replayed"] for d in everything.json()["dead_letters"]] == [True, True, False]
    metrics = (await intake.get("/metrics")).text
    assert 'landsync_dlq_replayed_total{queue="mortgaged"}' in metrics


async def test_two_replays_at_once_publish_each_dead_letter_once(
    settings: Settings, intake: httpx.AsyncClient, commune: str, operator: str
) -> None:
    ids = await _letters(settings, Topic.DLQ_MORTGAGED, commune, [0] * 5)

    answers = await asyncio.gather(
        *(_replay_mortgaged(intake, operator, commune=commune) for _ in range(2))
    )

    assert sorted(a.json()["replayed"] for a in answers) == [0, 5]
    assert len(await _replayed(settings, ids)) == 5


async def test_only_operators_reach_the_dead_letters(
    intake: httpx.AsyncClient, new_key: KeyFactory
) -> None:
    submitter = await new_key("submitter", ["07339"])
    viewer, operator = await new_key("viewer"), await new_key("operator")
    calls = [
        ("GET", "/v1/dlq/mortgaged", None),
        ("GET", "/v1/dlq/mortgaged/" + str(uuid.uuid4()), None),
        ("POST", "/v1/dlq/mortgaged/replay", {"dry_run": True}),
    ]
    for method, path, body in calls:
        for key in (submitter, viewer):
            refused = await intake.request(method, path, json=body, headers=bearer(key))
            assert refused.status_code == 403, path
            assert refused.json()["error"]["code"] == "forbidden_role"
        assert (await intake.request(method, path, json=body)).status_code == 401
        unknown = path.replace("mortgaged", "lost-and-found")
        missing = await intake.request(method, unknown, json=body, headers=bearer(operator))
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "unknown_queue"


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "status"),
    [
        ("GET", "/v1/dlq/poison", {"commune": "abc"}, None, 422),
        ("GET", "/v1/dlq/poison", {"since": "yesterday"}, None, 422),
        ("GET", "/v1/dlq/poison", {"limit": "0"}, None, 422),
        ("GET", "/v1/dlq/poison", {"reason": "lost"}, None, 422),
        ("POST", "/v1/dlq/poison/replay", None, b"{not json", 400),
        ("POST", "/v1/dlq/poison/replay", None, b'{"colour": "red"}', 422),
        ("POST", "/v1/dlq/poison/replay", None, b'{"limit": -1}', 422),
        ("POST", "/v1/dlq/poison/replay", None, b"[]", 422),
        ("GET", "/v1/dlq/poison/no-such-record", None, None, 422),
        ("GET", f"/v1/dlq/poison/{uuid.uuid4()}", None, None, 404),
    ],
)
async def test_a_bad_filter_is_a_json_error_never_a_500(
    intake: httpx.AsyncClient,
    operator: str,
    method: str,
    path: str,
    params: dict[str, str] | None,
    body: bytes | None,
    status: int,
) -> None:

    response = await intake.request(
        method, path, params=params, content=body, headers=bearer(operator)
    )

    assert response.status_code == status, response.text
    assert response.json()["error"]["code"]


async def test_names_and_ids_are_masked_unless_the_operator_asks_to_reveal_them(
    settings: Settings, intake: httpx.AsyncClient, commune: str, operator: str
) -> None:
    owner = {**make_record()["owners"][0], "full_name": "Trịnh Thị Xuân Hương"}
    owner["personal_id"] = "027190123456"
    [record_id] = await _letters(settings, Topic.DLQ_MORTGAGED, commune, [0], owners=[owner])

    listed = await _list_mortgaged(intake, operator, commune=commune)
    shown = await intake.get(f"/v1/dlq/mortgaged/{record_id}", headers=bearer(operator))
    revealed = await _list_mortgaged(intake, operator, commune=commune, reveal="true")

    for masked in (listed, shown):
        assert masked.status_code == 200, masked.text
        assert record_id in masked.text
        assert "027190123456" not in masked.text
        assert (
            "Trịnh Thị Xuân Hương"
            not in masked.json()["dead_letters"][0]["value"]["owners"][0].values()
        )
    [letter] = revealed.json()["dead_letters"]
    assert letter["value"]["owners"][0]["personal_id"] == "027190123456"
    assert letter["value"]["owners"][0]["full_name"] == "Trịnh Thị Xuân Hương"


async def test_every_reveal_is_audited_and_masked_listings_are_not(
    settings: Settings,
    intake: httpx.AsyncClient,
    db: asyncpg.Pool[Any],
    commune: str,
    operator: str,
) -> None:
    [record_id] = await _letters(settings, Topic.DLQ_MORTGAGED, commune, [0])

    await _list_mortgaged(intake, operator, commune=commune)
    await _list_mortgaged(intake, operator, commune=commune, reveal="true")
    await intake.get(
        f"/v1/dlq/mortgaged/{record_id}", params={"reveal": "true"}, headers=bearer(operator)
    )

    rows = await db.fetch(
        "SELECT actor, queue, filter, revealed FROM dlq_reveals WHERE actor = $1"
        " ORDER BY reveal_id",
        _key_id(operator),
    )
    assert [(r["actor"], r["queue"], r["revealed"]) for r in rows] == [
        (_key_id(operator), "mortgaged", 1),
        (_key_id(operator), "mortgaged", 1),
    ]
    assert rows[1]["filter"]["record_id"] == record_id


async def test_a_replay_whose_publish_fails_is_audited_as_failed_and_can_be_run_again(
    settings: Settings,
    intake: httpx.AsyncClient,
    db: asyncpg.Pool[Any],
    commune: str,
    operator: str,
) -> None:
    ids = await _letters(settings, Topic.DLQ_MORTGAGED, commune, [0, 0])
    never_started = Producer(settings, client_id="tests-broken")  # every publish raises

    async with db.acquire() as conn:
        with pytest.raises(RuntimeError):
            await replay.replay(
                settings, conn, never_started, "mortgaged", parse_filter(commune=commune),
                actor="tests",
            )  # fmt: skip
    failed = await _audits(db, commune)
    again = await _replay_mortgaged(intake, operator, commune=commune)

    # The intent was written before publishing, so the failed attempt is on record ...
    assert [(a["actor"], a["state"]) for a in failed] == [("tests", "failed")]
    # ... and it did not mark the dead letters replayed: the next replay publishes them.
    assert again.json()["replayed"] == 2
    assert len(await _replayed(settings, ids)) == 2
    assert [a["state"] for a in await _audits(db, commune)] == ["failed", "published"]


async def test_a_replay_naming_nothing_replays_nothing_unless_it_says_all(
    settings: Settings, intake: httpx.AsyncClient, commune: str, operator: str
) -> None:
    ids = await _letters(settings, Topic.DLQ_MORTGAGED, commune, [0, 0])
    url = "/v1/dlq/mortgaged/replay"

    empty = await intake.post(url, headers=bearer(operator))  # Swagger's "Try it out"
    limit_only = await intake.post(url, json={"limit": 5}, headers=bearer(operator))
    cli = landsync(settings, "dlq", "replay", "mortgaged")
    unconfirmed = landsync(settings, "dlq", "replay", "mortgaged", "--commune", commune)
    before = await _replayed(settings, ids)
    dry = await intake.post(url, json={"dry_run": True}, headers=bearer(operator))
    everything = await intake.post(url, json={"all": True}, headers=bearer(operator))

    for refused in (empty, limit_only):
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "replay_needs_filter"
    assert cli.returncode == 2
    assert "--all" in cli.stderr
    # Without a terminal to ask, the CLI shows what it would replay and stops.
    assert unconfirmed.returncode == 2
    assert "2 dead letters would be replayed" in unconfirmed.stderr
    assert "mortgaged 2" in unconfirmed.stderr
    assert before == []
    assert dry.status_code == 200
    assert everything.json()["replayed"] >= 2
    assert len(await _replayed(settings, ids)) == 2
