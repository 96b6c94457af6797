"""The consumer pattern under a graceful stop: the batch in hand finishes, nothing repeats."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import asyncpg
import httpx
import orjson

from shared.settings import Settings
from shared.stack import Stack
from shared.topics import Topic
from tests.support import (
    COMMUNE,
    eventually,
    make_record,
    post_ndjson,
    read_topic,
    record_id_of,
    register,
)


async def test_a_sigterm_mid_stream_loses_nothing_and_publishes_nothing_twice(
    stack: Stack,
    intake: httpx.AsyncClient,
    db: asyncpg.Pool[Any],
    settings: Settings,
    key: str,
) -> None:
    records = [make_record(COMMUNE) for _ in range(8000)]
    await register(db, *records)
    body = b"\n".join(orjson.dumps(r) for r in records)
    response = await post_ndjson(intake, key, body)
    ids = [r["record_id"] for r in response.json()["results"]]

    async def decided() -> int:
        count: int = await db.fetchval(
            "SELECT count(*) FROM records"
            " WHERE record_id = ANY($1::uuid[]) AND decision = 'accepted'",
            ids,
        )
        return count

    async def all_decided() -> bool:
        return await decided() == len(ids)

    await eventually(decided, timeout=30, interval=0.05)  # reconcile has started on them
    # Measured as the signal is sent: the batches in flight may all finish during the graceful
    # stop (four members take up to 2,000 records each), which is no less a test of it.
    at_sigterm = await decided()
    started = time.monotonic()
    stack.stop_service("reconcile")  # SIGTERM; the stack escalates to SIGKILL only after 20 s
    stopped_in = time.monotonic() - started
    stack.start_service("reconcile")

    await eventually(all_decided, timeout=120)
    assert stopped_in < 15, "reconcile should stop gracefully, well before the SIGKILL deadline"
    assert at_sigterm < len(ids), "the stop should have come while records were still waiting"
    wanted = set(ids)
    messages = await read_topic(
        settings.bootstrap,
        settings.topics.name(Topic.ACCEPTED),
        until=lambda ms: wanted <= {record_id_of(m) for m in ms},
        timeout=60,
    )
    counts = Counter(record_id_of(m) for m in messages)
    assert {i: counts[i] for i in ids if counts[i] != 1} == {}


async def test_the_consumers_report_healthy(stack: Stack, settings: Settings) -> None:
    async with httpx.AsyncClient() as client:
        for service in ("reconcile", "sync"):
            health = await client.get(f"{settings.service_url(service)}/healthz")
            metrics = await client.get(f"{settings.service_url(service)}/metrics")
            assert health.status_code == 200
            assert health.json() == {"status": "ok", "broker": True, "database": True}
            assert "faststream_received_messages_total" in metrics.text
