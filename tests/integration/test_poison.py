"""A message no consumer can decode goes to land.dlq.poison with headers; consumption goes on."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from shared.settings import Settings
from shared.topics import Topic
from tests.support import (
    COMMUNE,
    bearer,
    eventually,
    make_record,
    parcel_key_of,
    plain_producer,
    read_topic,
    register,
)


@pytest.mark.parametrize(
    ("topic", "group", "done"),
    [
        (Topic.SUBMITTED, "landsync-reconcile", "decision = 'accepted'"),
        (Topic.ACCEPTED, "landsync-sync", "sync_state IS NOT NULL"),
    ],
    ids=["reconcile", "sync"],
)
async def test_a_poison_message_is_dead_lettered_with_headers_and_the_consumer_goes_on(
    intake: httpx.AsyncClient,
    db: asyncpg.Pool[Any],
    settings: Settings,
    key: str,
    topic: Topic,
    group: str,
    done: str,
) -> None:
    good = make_record(COMMUNE)
    await register(db, good)
    # Same key as the good record: same partition, so the good one is only processed if the
    # consumer got past the poison.
    parcel_key = parcel_key_of(good).encode()
    poison = b'{"record_id": "not-a-uuid", "garbage": \xff}'
    async with plain_producer(settings.bootstrap) as producer:
        sent = await producer.send_and_wait(
            settings.topics.name(topic), poison, key=parcel_key, headers=[("binary", b"\xff\xfe")]
        )

    posted = await intake.post("/v1/records", json=good, headers=bearer(key))
    record_id = posted.json()["results"][0]["record_id"]

    async def processed() -> bool:
        return bool(
            await db.fetchval(f"SELECT {done} FROM records WHERE record_id = $1::uuid", record_id)
        )

    await eventually(processed, timeout=60)
    dead = await read_topic(
        settings.bootstrap,
        settings.topics.name(Topic.DLQ_POISON),
        until=lambda ms: any(m.value == poison and m.key == parcel_key for m in ms),
    )
    [letter] = [m for m in dead if m.value == poison and m.key == parcel_key]
    headers = {k: v.decode() for k, v in letter.headers}
    assert headers["dlq.reason"] == "undecodable"
    assert headers["dlq.original.topic"] == settings.topics.name(topic)
    assert headers["dlq.original.partition"] == str(sent.partition)
    assert headers["dlq.original.offset"] == str(sent.offset)
    assert headers["dlq.consumer.group"] == group
    assert headers["dlq.attempts"] == "1"
    assert headers["dlq.replay.count"] == "0"
    assert int(headers["dlq.original.timestamp"]) > 0
    assert int(headers["dlq.first.failed.at"]) >= int(headers["dlq.original.timestamp"])
    assert headers["dlq.detail"]
    assert orjson.loads(posted.content)["results"][0]["status"] == "received"
