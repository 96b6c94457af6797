"""Fixtures the integration tests share beyond the session's stack."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from shared.settings import Settings
from shared.stack import Stack
from tests.integration.plots import Simulator


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
