"""Sync against the real Kafka, PostgreSQL and national database simulator."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import orjson
from aiokafka.structs import TopicPartition

from shared.kafka.admin import admin_client
from shared.settings import Settings
from shared.stack import Stack
from shared.topics import Topic
from tests.integration.plots import (
    Plot,
    Simulator,
    accept,
    delta,
    ledger,
    new_plots,
    plot_of,
    publish,
)
from tests.support import eventually, make_record, read_topic

GROUP = "landsync-sync"


async def _all_settled(db: asyncpg.Pool[Any], plots: list[Plot], timeout: float) -> dict[str, Any]:
    async def settled() -> dict[str, Any] | None:
        rows = await ledger(db, plots)
        done = [r for r in rows.values() if r["sync_state"] in ("synced", "failed")]
        return rows if len(done) == len(plots) else None

    rows: dict[str, Any] = await eventually(settled, timeout=timeout, interval=0.5)
    return rows


async def test_accepted_plots_all_end_synced_and_the_national_database_holds_each_once(
    db: asyncpg.Pool[Any], settings: Settings, sim: Simulator
) -> None:
    before = await sim.stats()
    plots = await accept(db, settings, new_plots(300))

    rows = await _all_settled(db, plots, timeout=60)

    assert {r["status"] for r in rows.values()} == {"synced"}
    assert all(r["national_id"] and r["synced_at"] for r in rows.values())
    moved = delta(before, await sim.stats())
    assert moved["parcels"] == moved["created"] == len(plots)
    assert moved["updated"] == moved["unchanged"] == 0
    held = await sim.parcel(plots[0].parcel_key)
    assert held is not None
    assert held["national_id"] == rows[plots[0].record_id]["national_id"]


async def test_under_errors_rate_limits_an_outage_and_refusals_every_plot_is_synced_or_refused(
    db: asyncpg.Pool[Any], settings: Settings, sim: Simulator
) -> None:
    waves = [new_plots(400) for _ in range(3)]
    refused = {p.parcel_key for wave in waves for p in wave[:4]}
    before = await sim.stats()
    await sim.faults(error_rate=0.1, latency_ms=20, reject_parcels=sorted(refused))

    published = await accept(db, settings, waves[0])
    await sim.faults(rate_limit_rate=0.6, retry_after_s=2)  # a burst of 429s
    published += await accept(db, settings, waves[1])

    async def rate_limited() -> bool:
        return delta(before, await sim.stats())["rate_limited"] > 0

    await eventually(rate_limited, timeout=30)  # the burst of 429s has bitten
    await sim.faults(rate_limit_rate=0, outage_s=20)
    published += await accept(db, settings, waves[2])

    async def breaker_open() -> bool:
        async with httpx.AsyncClient(timeout=5) as client:
            metrics = (await client.get(f"{settings.service_url('sync')}/metrics")).text
        return "landsync_sync_breaker_state 2.0" in metrics

    await eventually(breaker_open, timeout=20)  # the outage opens the breaker, or this fails
    committed_during_outage = await _committed(settings)
    rows_during_outage = await ledger(db, published)

    rows = await _all_settled(db, published, timeout=150)

    for plot in published:  # nothing committed past a plot that was not settled or set aside
        if plot.offset < committed_during_outage.get(plot.partition, 0):
            assert rows_during_outage[plot.record_id]["sync_state"] is not None, plot
    synced = {p.parcel_key for p in published if rows[p.record_id]["status"] == "synced"}
    failed = {p.parcel_key for p in published if rows[p.record_id]["status"] == "dead_lettered"}
    assert failed == refused
    assert synced == {p.parcel_key for p in published} - refused
    dead = await read_topic(
        settings.bootstrap,
        settings.topics.name(Topic.DLQ_SYNC_FAILED),
        until=lambda ms: refused <= {m.key.decode() for m in ms},
    )
    letters = [m for m in dead if m.key.decode() in refused]
    assert {m.key.decode() for m in letters} == refused
    assert {dict(m.headers)["dlq.reason"] for m in letters} == {b"sync_rejected"}
    moved = delta(before, await sim.stats())
    assert moved["rate_limited"] > 0
    assert moved["unavailable"] > 0
    assert moved["created"] == moved["parcels"] == len(published) - len(refused)
    assert moved["updated"] == moved["unchanged"] == 0, "no plot may be applied twice"
    assert moved["early_retries"] == 0, "no plot may be re-sent before its Retry-After"


async def _committed(settings: Settings) -> dict[int, int]:
    async with admin_client(settings.bootstrap) as admin:
        offsets: dict[TopicPartition, Any] = await admin.list_consumer_group_offsets(GROUP)
    topic = settings.topics.name(Topic.ACCEPTED)
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


async def test_a_sync_killed_mid_batch_loses_nothing_and_applies_nothing_twice(
    stack: Stack, db: asyncpg.Pool[Any], settings: Settings, sim: Simulator
) -> None:
    before = await sim.stats()
    await sim.faults(latency_ms=300)  # requests in flight all the time
    plots = await accept(db, settings, new_plots(3000))

    async def sending() -> bool:
        return (await sim.stats())["created"] - before["created"] >= 500

    await eventually(sending, timeout=60, interval=0.05)
    requests = (await sim.stats())["requests"]

    async def next_request_in_flight() -> bool:
        return (await sim.stats())["requests"] > requests

    await eventually(next_request_in_flight, timeout=30, interval=0.02)
    stack.kill_service("sync")  # the simulator applies that request, but nobody reads the answer
    synced_at_kill = sum(
        1 for r in (await ledger(db, plots)).values() if r["sync_state"] == "synced"
    )
    await asyncio.sleep(1)  # requests already sent finish at the simulator, unanswered
    await sim.faults(latency_ms=0)
    stack.start_service("sync")

    rows = await _all_settled(db, plots, timeout=120)

    assert synced_at_kill < len(plots), "the kill should come while plots were still unsynced"
    assert {r["status"] for r in rows.values()} == {"synced"}
    moved = delta(before, await sim.stats())
    assert moved["created"] == moved["parcels"] == len(plots)
    assert moved["updated"] == moved["unchanged"] == 0
    assert moved["duplicates_suppressed"] > 0, "re-sent plots should reuse their keys"


async def test_a_new_version_updates_the_parcel_and_a_replayed_version_changes_nothing(
    db: asyncpg.Pool[Any], settings: Settings, sim: Simulator
) -> None:
    [first] = await accept(db, settings, new_plots(1))
    original = orjson.loads(first.value)
    await _all_settled(db, [first], timeout=60)
    record = {k: v for k, v in original.items() if k not in ("record_id", "version")}
    record["submission_id"] = f"{record['submission_id']}-v2"
    record["certificate"] = {**record["certificate"], "serial": "CS 000002"}
    before = await sim.stats()

    [second] = await accept(db, settings, [plot_of(record, version=2)])
    rows = await _all_settled(db, [first, second], timeout=60)
    after_update = await sim.stats()
    await publish(settings, [second])  # the same version again, as a redelivery or replay would
    [third] = await accept(db, settings, [plot_of(make_record(), version=1)])  # a marker behind it
    await _all_settled(db, [third], timeout=60)

    assert rows[second.record_id]["national_id"] == rows[first.record_id]["national_id"]
    assert delta(before, after_update)["updated"] == 1
    held = await sim.parcel(first.parcel_key)
    assert held is not None
    assert held["version"] == 2
    assert held["plot"]["certificate"]["serial"] == "CS 000002"
    replay = delta(after_update, await sim.stats())
    assert replay["updated"] == replay["unchanged"] == 0
    assert replay["created"] == 1  # only the marker


async def test_the_national_database_token_never_appears_in_the_sync_log(
    settings: Settings, sim: Simulator, db: asyncpg.Pool[Any]
) -> None:
    plots = await accept(db, settings, new_plots(5))
    await _all_settled(db, plots, timeout=60)
    log = (settings.state_dir / "logs" / "sync.log").read_text("utf-8", errors="replace")
    assert "national database circuit breaker" in log or "plot synced" in log
    assert settings.national_db_token not in log


async def test_a_plot_the_national_database_keeps_failing_is_exhausted_alone_and_holds_up_none(
    stack: Stack, db: asyncpg.Pool[Any], settings: Settings, sim: Simulator
) -> None:
    impatient = Stack(
        settings.model_copy(
            update={
                "sync_max_attempts": 12,  # some seconds in the retry table, then given up
                "sync_backoff_initial_seconds": 0.5,
                "sync_backoff_max_seconds": 1.0,
                "sync_retry_poll_seconds": 0.2,
            }
        )
    )
    stack.stop_service("sync")
    impatient.start_service("sync")
    try:
        plots = new_plots(120)
        failing = plots[0]
        await sim.faults(fail_parcels=[failing.parcel_key])  # always a 503 when it is aboard
        published = await accept(db, settings, plots)
        others = await _all_settled(db, published[1:], timeout=60)
        failing_meanwhile = (await ledger(db, [failing]))[failing.record_id]
        [row] = (await _all_settled(db, [failing], timeout=90)).values()
    finally:
        impatient.stop_service("sync")
        stack.start_service("sync")

    assert {r["status"] for r in others.values()} == {"synced"}
    assert failing_meanwhile["sync_state"] == "pending", "it should wait aside, not in the way"
    assert row["status"] == "dead_lettered"
    assert row["sync_state"] == "failed"
    assert row["sync_attempts"] >= 12
    assert "HTTP 503" in row["sync_last_error"]
    dead = await read_topic(
        settings.bootstrap,
        settings.topics.name(Topic.DLQ_SYNC_FAILED),
        until=lambda ms: any(m.key.decode() == failing.parcel_key for m in ms),
    )
    [letter] = [m for m in dead if m.key.decode() == failing.parcel_key]
    headers = {k: v.decode() for k, v in letter.headers}
    assert headers["dlq.reason"] == "sync_exhausted"
    assert headers["record.id"] == failing.record_id
    assert int(headers["dlq.attempts"]) >= 12
    assert letter.value == failing.value


async def test_a_dead_lettered_plot_delivered_again_is_not_dead_lettered_twice(
    db: asyncpg.Pool[Any], settings: Settings, sim: Simulator
) -> None:
    [refused, waiting] = new_plots(2)
    await sim.faults(reject_parcels=[refused.parcel_key], fail_parcels=[waiting.parcel_key])
    try:
        await accept(db, settings, [refused, waiting])
        await _all_settled(db, [refused], timeout=60)

        async def parked() -> bool:
            row = (await ledger(db, [waiting]))[waiting.record_id]
            return bool(row["sync_state"] == "pending" and row["sync_attempts"] > 0)

        await eventually(parked, timeout=60)
        failures_before = await _failures(db, waiting)
        # Both again, as after a rebalance before their offsets were committed.
        await publish(settings, [refused, waiting])
        [marker] = await accept(db, settings, new_plots(1))  # behind them on the topic
        await _all_settled(db, [marker], timeout=60)
        failures = await _failures(db, waiting)
    finally:
        await sim.faults(reject_parcels=[], fail_parcels=[])

    dead = await read_topic(
        settings.bootstrap,
        settings.topics.name(Topic.DLQ_SYNC_FAILED),
        until=lambda ms: any(m.key.decode() == refused.parcel_key for m in ms),
    )
    assert len([m for m in dead if m.key.decode() == refused.parcel_key]) == 1
    assert failures >= failures_before > 0, "a copy delivered again should not reset its count"


async def _failures(db: asyncpg.Pool[Any], plot: Plot) -> int:
    """The plot's failures so far in the retry table."""
    found = await db.fetchval(
        "SELECT failures FROM sync_retries WHERE record_id = $1", uuid.UUID(plot.record_id)
    )
    assert isinstance(found, int), "the plot should be waiting in the retry table"
    return found
