"""The benchmarks' own stack: a state directory and ports of its own, apart from the campaign's.

Benchmarks write thousands of made-up records; on the campaign's stack they would end up in its
ledger and its report. Here each run starts from an empty ledger and empty topics; a province's
registry loaded here is kept between runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
from aiokafka.admin import NewTopic
from rich.console import Console

from shared.db.connection import connected
from shared.kafka.admin import admin_client
from shared.kafka.security import client_options
from shared.settings import PROJECT_ROOT, Settings, isolated
from shared.stack import Stack
from shared.stack.kafka import ensure_topics
from shared.stack.services import child_env

_PIPELINE = ("intake", "reconcile", "sync", "national-db")  # the simulator forgets its plots
BASE = 26_000  # below the ephemeral port range (see shared.settings.isolated)
MIN_RESIDENTS, MIN_CERTIFICATES = 1_000_000, 700_000


def bench_settings() -> Settings:
    """The bench stack's settings: ``.landsync-bench``, ports from 26000."""
    return isolated(BASE, PROJECT_ROOT / ".landsync-bench")


async def reset_ledger(settings: Settings) -> None:
    """Empty the bench stack's ledger (the registry stays): each run starts from nothing."""
    async with connected(settings.migration_dsn) as conn:  # TRUNCATE is the owner's
        await conn.execute("TRUNCATE records, outbox, parcels, sync_retries, cases")


@contextlib.asynccontextmanager
async def scratch_topic(settings: Settings, name: str) -> AsyncIterator[str]:
    """A topic of a raw ceiling's own, ``name`` and a random suffix, deleted when the block ends."""
    topic = f"{name}.{uuid.uuid4().hex[:6]}"
    async with admin_client(settings.bootstrap, **client_options(settings)) as admin:
        await admin.create_topics([NewTopic(topic, settings.topic_partitions, 1)])
        try:
            yield topic
        finally:
            await admin.delete_topics([topic])


async def empty_topics(settings: Settings, timeout: float = 60.0) -> None:
    """Delete LandSync's topics and create them again, empty (with their consumer offsets)."""
    topics = settings.topics.all()
    async with admin_client(settings.bootstrap, **client_options(settings)) as admin:
        present = [t for t in await admin.list_topics() if t in topics]
        if present:
            await admin.delete_topics(present)
        deadline = time.monotonic() + timeout
        # Deletion finishes in the background; a topic cannot be created again until it has.
        while set(await admin.list_topics()) & set(topics):
            if time.monotonic() > deadline:
                raise TimeoutError(f"Kafka did not delete the bench topics in {timeout:.0f} s")
            await asyncio.sleep(0.2)
    await ensure_topics(settings.bootstrap, topics)


def fresh(console: Console) -> tuple[Settings, Stack]:
    """The bench stack up, with an empty ledger and empty topics.

    Without emptying the topics, a run would start behind the last one's backlog: records that
    ``bench intake`` published while reconcile was paused would be decided during the next run.
    """
    settings = bench_settings()
    stack = Stack(settings, console)
    stack.up()
    for service in _PIPELINE:  # nothing may read or write the topics while they are replaced
        stack.stop_service(service)
    asyncio.run(reset_ledger(settings))
    asyncio.run(empty_topics(settings))
    stack.up()
    return settings, stack


def prepared(data: Path, console: Console) -> tuple[Settings, Stack, tuple[int, int]]:
    """:func:`fresh`, with ``data``'s registry loaded; the registry's size."""
    settings, stack = fresh(console)
    return settings, stack, ensure_registry(settings, data, console)


def ensure_registry(settings: Settings, data: Path, console: Console) -> tuple[int, int]:
    """Load the data directory's registry unless the bench database already holds enough."""
    counts = asyncio.run(_counts(settings))
    if counts[0] >= MIN_RESIDENTS and counts[1] >= MIN_CERTIFICATES:
        return counts
    for kind in ("residents", "certificates"):
        console.print(f"Loading {kind} from {data}")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "shared.cli.main",
                "registry",
                "load",
                kind,
                str(data / f"{kind}.csv"),
            ],
            env=child_env(settings),
            check=True,
        )
    return asyncio.run(_counts(settings))


async def _counts(settings: Settings) -> tuple[int, int]:
    async with connected(settings.dsn) as conn:
        residents = await conn.fetchval("SELECT count(*) FROM residents")
        certificates = await conn.fetchval("SELECT count(*) FROM certificates")
    return int(residents), int(certificates)


def payload(data: Path, count: int) -> list[bytes]:
    """The first ``count`` records of the data directory, with this run's submission ids."""
    run = uuid.uuid4().hex[:6]
    lines: list[bytes] = []
    with (data / "records.jsonl").open("rb") as f:
        for line in f:
            if len(lines) == count:
                break
            record = orjson.loads(line)
            record["submission_id"] = f"bench-{run}-{record['submission_id']}"
            lines.append(orjson.dumps(record))
    return lines
