"""Prometheus metrics move as records flow: decisions counted, consumer lag back to zero."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import httpx

from shared.settings import Settings
from shared.topics import Topic
from tests.conftest import KeyFactory
from tests.support import eventually, make_record, published, register, submit

COMMUNE = "07228"  # no other test decides records of this commune: its counters are ours


def _sum(metrics: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include ``labels``."""
    total = 0.0
    for line in metrics.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_decisions_are_counted_and_the_lag_returns_to_zero(
    intake: httpx.AsyncClient, db: asyncpg.Pool[Any], settings: Settings, new_key: KeyFactory
) -> None:
    key = await new_key("submitter", [COMMUNE])
    records = [make_record(COMMUNE) for _ in range(20)]
    for r in records[15:]:  # a serial no certificate has: rejected
        r["certificate"] = {**r["certificate"], "serial": "ZZ 000001"}
        r["scan_file"] = "ZZ000001.pdf"
    records[14]["collection_status"] = "owner_absent"  # dead-lettered
    await register(db, *records[:15])
    url = f"{settings.service_url('reconcile')}/metrics"
    async with httpx.AsyncClient() as client:
        before = (await client.get(url)).text

        ids = await submit(intake, key, *records)

        await published(db, ids)
        name = "landsync_reconcile_decisions_total"
        dlq = settings.topics.name(Topic.DLQ_OWNER_UNRESOLVED)
        topic = settings.topics.name(Topic.SUBMITTED)

        def counted(text: str) -> tuple[float, float, float]:
            return (
                _sum(text, name, outcome="accepted", commune=COMMUNE),
                _sum(text, name, reason="certificate_not_found", commune=COMMUNE),
                _sum(
                    text, "landsync_dead_letters_published_total", topic=dlq, reason="owner_absent"
                ),
            )

        start = counted(before)

        async def scraped() -> str | None:
            # The ledger is marked a moment before the counters move and the lag is recorded.
            text = (await client.get(url)).text
            moved = tuple(a - b for a, b in zip(counted(text), start, strict=True))
            has_lag = any(
                line.startswith("landsync_consumer_lag_messages{") and f'topic="{topic}"' in line
                for line in text.splitlines()
            )
            return text if moved == (14, 5, 1) and has_lag else None

        after = await eventually(scraped, timeout=30)

    moved = tuple(a - b for a, b in zip(counted(after), start, strict=True))
    assert moved == (14, 5, 1), "accepted, rejected by reason, dead-lettered by reason"

    async def caught_up() -> bool:
        async with httpx.AsyncClient() as client:
            text = (await client.get(url)).text
        return _sum(text, "landsync_consumer_lag_messages", topic=topic) == 0

    await eventually(caught_up, timeout=60)  # other tests' records may still be flowing
