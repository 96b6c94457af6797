"""Reconcile against the real stack: each record gets one decision, routed to its topic, once."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import (
    CommitFailedError,
    IllegalGenerationError,
    RebalanceInProgressError,
    UnknownMemberIdError,
)

from services.reconcile.app import GROUP_ID
from shared.settings import Settings
from shared.stack import Stack
from shared.topics import Topic
from tests.support import (
    COMMUNE,
    carrying,
    eventually,
    forget_owner,
    fresh_owner,
    make_record,
    mortgage,
    plain_producer,
    published,
    read_topic,
    record_id_of,
    register,
    registered_record,
    started,
    submit,
)


async def _decided(db: asyncpg.Pool[Any], record_ids: list[str]) -> dict[str, asyncpg.Record]:
    """The ledger rows of the records, once each is decided and its decision published."""
    await published(db, record_ids)
    rows = await db.fetch(
        "SELECT record_id::text AS id, decision AS status, reasons, warnings, plot_version,"
        " decided_at, published_at FROM records WHERE record_id = ANY($1::uuid[])",
        record_ids,
    )
    return {r["id"]: r for r in rows}


def _codes(row: asyncpg.Record) -> set[str]:
    return {
        r["code"] for r in row["reasons"] if r["code"] not in {"sync_rejected", "sync_exhausted"}
    }


def _outcome(row: asyncpg.Record) -> str:
    """The decision; a synced record was accepted (sync may already have sent it on)."""
    return "accepted" if row["status"] == "synced" else str(row["status"])


async def test_each_record_gets_one_decision_on_the_topic_its_outcome_names(
    intake: httpx.AsyncClient, db: asyncpg.Pool[Any], settings: Settings, key: str
) -> None:
    clean, mortgaged, bad_scan, stranger = (fresh_owner(make_record(COMMUNE)) for _ in range(4))
    await register(db, clean, mortgaged, bad_scan, stranger)
    await mortgage(db, mortgaged)
    await forget_owner(db, stranger)
    bad_scan["scan_file"] = "IMG_0042.pdf"

    ids = await submit(intake, key, clean, mortgaged, bad_scan, stranger)
    rows = await _decided(db, ids)

    assert [(_outcome(rows[i]), _codes(rows[i])) for i in ids] == [
        ("accepted", set()),
        ("dead_lettered", {"mortgaged"}),
        ("rejected", {"scan_name_mismatch"}),
        ("dead_lettered", {"owner_unresolved"}),
    ]
    assert rows[ids[0]]["plot_version"] == 1
    [plot] = await carrying(settings, Topic.ACCEPTED, {ids[0]})
    assert orjson.loads(plot.value)["version"] == 1
    [rejection] = await carrying(settings, Topic.REJECTED, {ids[2]})
    assert [r["code"] for r in orjson.loads(rejection.value)["reasons"]] == ["scan_name_mismatch"]
    [letter] = await carrying(settings, Topic.DLQ_MORTGAGED, {ids[1]})
    assert dict(letter.headers)["dlq.reason"] == b"mortgaged"
    [unresolved] = await carrying(settings, Topic.DLQ_OWNER_UNRESOLVED, {ids[3]})
    headers = {k: v.decode() for k, v in unresolved.headers}
    assert headers["dlq.reason"] == "owner_unresolved"
    assert headers["dlq.original.topic"] == settings.topics.name(Topic.SUBMITTED)
    assert headers["commune.code"] == COMMUNE
    assert orjson.loads(unresolved.value)["record_id"] == ids[3]  # the record, unchanged
    assert not await carrying(settings, Topic.ACCEPTED, ids[1:])


async def test_an_identical_plot_submitted_again_is_a_duplicate_and_is_not_sent_again(
    intake: httpx.AsyncClient, db: asyncpg.Pool[Any], settings: Settings, key: str
) -> None:
    original = fresh_owner(make_record(COMMUNE))
    await register(db, original)
    copy = {**original, "submission_id": original["submission_id"] + "-again"}
    changed = {**original, "submission_id": original["submission_id"] + "-changed",
               "parcel": {**original["parcel"], "area_m2": 150.0,
                          "land_uses": [{"code": "ONT", "area_m2": 150.0}]}}  # fmt: skip

    ids = await submit(intake, key, original, copy, changed)
    rows = await _decided(db, ids)

    assert [_outcome(rows[i]) for i in ids] == ["accepted", "duplicate", "rejected"]
    assert _codes(rows[ids[2]]) == {"duplicate_conflict"}
    assert len(await carrying(settings, Topic.ACCEPTED, ids)) == 1


async def _rewind(settings: Settings, to: dict[TopicPartition, int]) -> None:
    """Commit earlier offsets for reconcile's consumer group, as an operator's reset would.

    Like that reset, only once the group is empty: a stopped member counts until it has left
    or its session has timed out, and the broker refuses the commit till then.
    """

    async def committed() -> bool:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.bootstrap, group_id=GROUP_ID, enable_auto_commit=False
        )
        try:
            async with started(consumer):
                consumer.assign(list(to))
                await consumer.commit(dict(to))
        except (
            CommitFailedError, IllegalGenerationError, RebalanceInProgressError,
            UnknownMemberIdError,
        ):  # fmt: skip
            return False
        return True

    await eventually(committed, timeout=90, interval=1.0)


async def test_after_a_forced_rewind_of_the_consumer_group_nothing_is_decided_or_sent_twice(
    stack: Stack,
    intake: httpx.AsyncClient,
    db: asyncpg.Pool[Any],
    settings: Settings,
    key: str,
) -> None:
    records = [fresh_owner(make_record(COMMUNE)) for _ in range(5)]
    await register(db, *records)
    ids = await submit(intake, key, *records)
    first = await _decided(db, ids)
    ours = await carrying(settings, Topic.SUBMITTED, ids)
    earliest: dict[TopicPartition, int] = {}
    for m in ours:
        tp = TopicPartition(m.topic, m.partition)
        earliest[tp] = min(earliest.get(tp, m.offset), m.offset)

    stack.stop_service("reconcile")
    try:
        await _rewind(settings, earliest)
    finally:
        stack.start_service("reconcile")
    # One later record per parcel: once each is decided, reconcile has read past the rewind.
    markers = [
        {**r, "submission_id": r["submission_id"] + "-later", "scan_file": "later.pdf"}
        for r in records
    ]
    await _decided(db, await submit(intake, key, *markers))

    again = await _decided(db, ids)
    assert [again[i]["decided_at"] for i in ids] == [first[i]["decided_at"] for i in ids]
    plots = await carrying(settings, Topic.ACCEPTED, ids)
    assert sorted(record_id_of(p) for p in plots) == sorted(ids)


async def test_a_decision_stored_but_not_acknowledged_downstream_is_sent_on_redelivery(
    intake: httpx.AsyncClient, db: asyncpg.Pool[Any], settings: Settings, key: str
) -> None:
    record = await registered_record(db)
    [record_id] = await submit(intake, key, record)
    await _decided(db, [record_id])
    # As if reconcile had died after committing the decision and before Kafka acknowledged it.
    await db.execute("UPDATE records SET published_at = NULL WHERE record_id = $1::uuid", record_id)
    [original] = await carrying(settings, Topic.SUBMITTED, [record_id])
    async with plain_producer(settings.bootstrap) as producer:
        await producer.send_and_wait(original.topic, original.value, key=original.key)

    await _decided(db, [record_id])  # published_at is set again
    plots = await read_topic(
        settings.bootstrap,
        settings.topics.name(Topic.ACCEPTED),
        until=lambda ms: sum(record_id_of(m) == record_id for m in ms) >= 2,
        timeout=30,
    )
    assert sum(record_id_of(m) == record_id for m in plots) == 2
