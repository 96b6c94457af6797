"""Fixtures the integration tests share beyond the session's stack."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from shared.settings import Settings
from shared.stack import Stack
from tests.conftest import KeyFactory
from tests.integration.plots import Simulator
from tests.support import COMMUNE, own_commune


@pytest.fixture
def commune() -> str:
    """A commune of the test's own: its records count in no other test's figures."""
    return own_commune()


@pytest.fixture
async def key(new_key: KeyFactory) -> str:
    """A submitter key of the test's own for COMMUNE (``tests.support``'s)."""
    return await new_key("submitter", [COMMUNE])


@pytest.fixture
async def sim(stack: Stack, settings: Settings) -> AsyncIterator[Simulator]:
    """The simulator's controls; every fault is cleared after the test."""
    async with httpx.AsyncClient(base_url=settings.service_url("national-db"), timeout=10) as c:
        simulator = Simulator(c, settings.national_db_token)
        await simulator.faults(reset=True)
        try:
            yield simulator
        finally:
            await simulator.faults(reset=True)


@pytest.fixture(scope="session", autouse=True)
async def every_202_is_decided(db: asyncpg.Pool[Any]) -> AsyncIterator[None]:
    """After the whole suite: no record the tests got a 202 for is left undecided (CONTRACT §4).

    Whatever a test did to the stack (poison, kills, outages), once it has drained every record
    older than a few seconds has a decision.
    """
    yield

    async def stuck() -> list[str]:
        rows = await db.fetch(
            "SELECT record_id::text FROM records WHERE decision = 'received'"
            " AND received_at < now() - interval '5 seconds' LIMIT 20"
        )
        return [r["record_id"] for r in rows]

    deadline = time.monotonic() + 60
    left = await stuck()
    while left and time.monotonic() < deadline:
        await asyncio.sleep(1)
        left = await stuck()
    assert not left, f"records answered 202 but never decided: {left}"


@pytest.fixture(scope="session", autouse=True)
async def every_synced_case_is_stamped(db: asyncpg.Pool[Any]) -> AsyncIterator[None]:
    """After the whole suite: a parcel with a record in the national database has its case's
    ``synced_at`` set, so the report's synced cases are the ledger's (CONTRACT §6)."""
    yield
    rows = await db.fetch(
        "SELECT c.parcel_key FROM cases c WHERE c.synced_at IS NULL AND EXISTS"
        " (SELECT 1 FROM records r WHERE r.parcel_key = c.parcel_key AND r.sync_state = 'synced')"
        " LIMIT 20"
    )
    assert not rows, f"cases synced but not stamped: {[r['parcel_key'] for r in rows]}"
