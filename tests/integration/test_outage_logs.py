"""An outage is said once, not thousands of times: a line when a dependency goes away, one
when it is back, and ``landsync_dependency_up`` in between."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx

from shared.settings import Settings
from shared.stack import Stack
from tests.support import eventually

SERVICES = ("intake", "reconcile", "sync")
OUTAGE_SECONDS = 15.0
# Measured in this test (15 s): 3,044 warning and error lines in reconcile without the rate
# limit, 16 with it (intake 45 and 5, sync 11 with it). The issue saw 4,000-6,000 in 20 s in
# reconcile, ~3,000 in sync, 300-600 in intake: aiokafka's reconnect attempts.
MOST_LINES = 60


def _gauge(text: str, dependency: str) -> float | None:
    pattern = rf'^landsync_dependency_up{{dependency="{dependency}"}} (\S+)$'
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else None


async def _kafka_gauges(settings: Settings) -> dict[str, float | None]:
    async with httpx.AsyncClient(timeout=5) as client:
        return {
            s: _gauge((await client.get(f"{settings.service_url(s)}/metrics")).text, "kafka")
            for s in SERVICES
        }


def _events_since(stack: Stack, service: str, offset: int) -> list[dict[str, Any]]:
    with stack.log(service).open("rb") as log:
        log.seek(offset)
        return [json.loads(line) for line in log.read().splitlines() if line.strip()]


async def test_a_broker_outage_is_two_lines_and_a_gauge_not_a_flood(
    stack: Stack, settings: Settings
) -> None:
    async def all_up() -> bool:
        return set((await _kafka_gauges(settings)).values()) == {1.0}

    await eventually(all_up, timeout=30)  # a stack just started is still connecting
    offsets = {s: stack.log(s).stat().st_size for s in SERVICES}
    stack.stop_kafka(quiet=True)
    try:

        async def all_down() -> bool:
            return set((await _kafka_gauges(settings)).values()) == {0.0}

        await eventually(all_down, timeout=30)
        await asyncio.sleep(OUTAGE_SECONDS)
    finally:
        stack.start_kafka()

    await eventually(all_up, timeout=60)
    await asyncio.sleep(3)  # the reconnect's own lines, once the broker is back
    for service in SERVICES:
        events = _events_since(stack, service, offsets[service])
        loud = [e for e in events if e["level"] in {"warning", "error", "critical"}]
        said = [(e["event"], e.get("dependency")) for e in events]
        assert ("dependency down", "kafka") in said, service
        assert ("dependency up", "kafka") in said, service
        assert len(loud) <= MOST_LINES, (service, len(loud), [e["event"][:80] for e in loud[:20]])
