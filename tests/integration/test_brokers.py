"""A three-node Kafka cluster: a node SIGKILLed under load loses nothing and pauses only briefly."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from services.sync.app import GROUP_ID as SYNC_GROUP
from shared.kafka.admin import admin_client
from shared.settings import Settings
from shared.stack import Stack
from shared.stack.kafka import node_name
from shared.topics import Topic
from tests.conftest import KeyFactory
from tests.integration.plots import Simulator, delta
from tests.support import eventually, fresh_owner, make_record, register, started, submit

# The session's stack runs three nodes when this module is selected alone (tests/conftest.py).
pytestmark = pytest.mark.kafka_brokers(3)

log = logging.getLogger(__name__)
COMMUNE = "07339"
BATCH = 20
#: Far above a leader election (the controller fences a dead node after 5 s), far below
#: a partition that waits for its only replica to come back (never, in this test).
LONGEST_PAUSE_SECONDS = 30.0
_NEVER_SYNCED = ("rejected", "dead_lettered")


class Load:
    """Submits small batches of records reconcile will accept, until stopped."""

    def __init__(self, intake: httpx.AsyncClient, db: asyncpg.Pool[Any], key: str) -> None:
        self._intake, self._db, self._key = intake, db, key
        self.acknowledged: set[str] = set()
        self.stop = asyncio.Event()

    async def run(self) -> None:
        """Submit until ``stop`` is set; every record answered 202 is kept."""
        while not self.stop.is_set():
            records = [fresh_owner(make_record(COMMUNE)) for _ in range(BATCH)]
            await register(self._db, *records)
            self.acknowledged.update(await submit(self._intake, self._key, *records))
            await asyncio.sleep(0.05)  # a steady trickle, so every second has decisions


async def _leader_of_records(settings: Settings) -> int:
    """The node leading partition 0 of land.records.submitted."""
    async with admin_client(settings.bootstrap) as admin:
        [topic] = await admin.describe_topics([settings.topics.name(Topic.SUBMITTED)])
    return int(next(p["leader"] for p in topic["partitions"] if p["partition"] == 0))


async def _all_final(db: asyncpg.Pool[Any], ids: set[str]) -> list[asyncpg.Record] | None:
    """The records once each is synced or decided for good otherwise (refused, dead-lettered)."""
    rows = await db.fetch(
        "SELECT decision, reasons, sync_state, decided_at FROM records"
        " WHERE record_id = ANY($1::uuid[])",
        list(ids),
    )
    final = [r for r in rows if r["sync_state"] == "synced" or r["decision"] in _NEVER_SYNCED]
    return rows if len(final) == len(ids) else None


async def _where_they_wait(db: asyncpg.Pool[Any], settings: Settings, ids: set[str]) -> str:
    """What a stall leaves to look at: the unsynced records' states and sync's committed offsets.

    It says whether sync's group committed past the records' plots (a plot lost inside sync) or
    stopped short of them (consumption stopped).
    """
    rows = await db.fetch(
        "SELECT decision, sync_state, count(*) AS n FROM records"
        " WHERE record_id = ANY($1::uuid[]) AND sync_state IS DISTINCT FROM 'synced'"
        " GROUP BY 1, 2",
        list(ids),
    )
    lines = [f"unsynced: {r['n']} {r['decision']}/{r['sync_state']}" for r in rows]
    for _ in range(5):  # a dead node stays in the metadata for a while: a request may hit it
        try:
            lines += await _group_offsets(settings)
            break
        except KafkaError as error:
            failure = repr(error)
            await asyncio.sleep(2)
    else:
        lines.append(f"offsets unavailable: {failure}")
    return "\n".join(lines)


async def _group_offsets(settings: Settings) -> list[str]:
    """Where sync's group committed on each partition of its topic, and where each ends."""
    topic = settings.topics.name(Topic.ACCEPTED)
    async with admin_client(settings.bootstrap) as admin:
        [described] = await admin.describe_topics([topic])
        committed = await admin.list_consumer_group_offsets(SYNC_GROUP)
    partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    # Assigned, not subscribed: it joins no group, it only asks where each partition ends.
    async with started(AIOKafkaConsumer(bootstrap_servers=settings.bootstrap)) as reader:
        reader.assign(partitions)
        ends = await reader.end_offsets(partitions)
    lines = []
    for tp in sorted(partitions):
        done = committed[tp].offset if tp in committed else None
        lines.append(f"{topic}[{tp.partition}]: committed {done}, end {ends[tp]}")
    return lines


def _longest_pause(rows: list[asyncpg.Record]) -> float:
    stamps: list[datetime] = sorted(r["decided_at"] for r in rows)
    return max((b - a).total_seconds() for a, b in itertools.pairwise(stamps))


async def test_a_node_killed_under_load_loses_no_record_and_pauses_decisions_only_briefly(
    stack: Stack,
    intake: httpx.AsyncClient,
    db: asyncpg.Pool[Any],
    settings: Settings,
    new_key: KeyFactory,
    sim: Simulator,
) -> None:
    assert settings.kafka_brokers == 3
    load = Load(intake, db, await new_key("submitter", [COMMUNE]))
    before = await sim.stats()
    victim = node_name(await _leader_of_records(settings))
    submitting = asyncio.create_task(load.run())
    try:
        await asyncio.sleep(5)  # records flowing end to end before the kill
        killed_at = datetime.now(UTC)
        stack.kill_service(victim)  # SIGKILL: no controlled shutdown, no leadership handed over
        await asyncio.sleep(15)
        load.stop.set()
        await submitting
        # Everything must drain while the node is still dead: with one replica per partition,
        # its partitions' records would wait for it forever.
        try:
            rows = await eventually(lambda: _all_final(db, load.acknowledged), timeout=90)
        except AssertionError as stalled:
            stalled.add_note(await _where_they_wait(db, settings, load.acknowledged))
            raise
    finally:
        load.stop.set()
        with contextlib.suppress(BaseException):
            await submitting
        stack.start_kafka()  # the other tests of a 3-node session find all three up

    pause = _longest_pause(rows)
    # The figure the README quotes: pytest -o log_cli=true --log-cli-level=INFO shows it.
    log.info("killed %s; %d records; longest pause in decisions %.1f s", victim, len(rows), pause)
    # A record refused or dead-lettered is a fault of the test's data, not a stall: say which.
    others = Counter(f"{r['decision']} {r['reasons']}" for r in rows if r["decision"] != "accepted")
    assert not others, f"records not accepted: {dict(others)}"
    assert any(r["decided_at"] < killed_at for r in rows), "records flowed before the kill"
    assert pause < LONGEST_PAUSE_SECONDS, f"decisions stopped for {pause:.1f} s"
    moved = delta(before, await sim.stats())
    assert (moved["created"], moved["updated"]) == (len(load.acknowledged), 0)  # synced once
