"""The national database client against the simulator's app in memory (no sockets, no sleeps)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from services.national_db.app import Simulator, build
from services.national_db.faults import Faults
from services.national_db.journal import Journal
from services.sync.breaker import CircuitBreaker
from services.sync.client import NationalDbClient, PlotItem
from services.sync.policy import Refused, Synced, Unsent
from tests.support import bearer

TOKEN = "unit-token"


@pytest.fixture
def sim() -> Simulator:
    return Simulator(TOKEN, Journal(None), Faults(), seed=1)


@contextlib.asynccontextmanager
async def _client_of(sim: Simulator, **options: Any) -> AsyncIterator[NationalDbClient]:
    """A client of the simulator's app in memory; ``options`` override the client's defaults."""
    transport = httpx.ASGITransport(app=build(sim))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://national-db",
        headers=bearer(TOKEN),
    ) as http:
        breaker = CircuitBreaker(
            failures_to_open=50, reset_seconds=0.01, max_reset_seconds=0.01, probe_timeout=1
        )
        defaults: dict[str, Any] = {
            "concurrency": 2,
            "backoff_initial": 0.001,
            "backoff_max": 0.002,
            "is_stopping": lambda: False,
        }
        yield NationalDbClient(http, breaker, **(defaults | options))


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[NationalDbClient]:
    async with _client_of(sim) as made:
        yield made


def _plots(n: int) -> list[PlotItem]:
    return [PlotItem(f"07339:1:{i}", 1, orjson.dumps({"n": i})) for i in range(n)]


async def test_every_plot_comes_back_synced_with_its_national_id(
    client: NationalDbClient, sim: Simulator
) -> None:
    outcomes = await client.send(_plots(5), max_failures=3)
    assert all(isinstance(o, Synced) and o.status == "created" for o in outcomes)
    assert len({o.national_id for o in outcomes if isinstance(o, Synced)}) == 5
    assert len(sim.registry.parcels) == 5


async def test_a_refused_parcel_is_refused_alone_and_the_others_go_through(
    client: NationalDbClient, sim: Simulator
) -> None:
    sim.faults = Faults(reject_parcels=frozenset({"07339:1:2"}))
    outcomes = await client.send(_plots(5), max_failures=3)
    assert isinstance(outcomes[2], Refused)
    assert "422" in outcomes[2].error
    assert [type(o) for i, o in enumerate(outcomes) if i != 2] == [Synced] * 4
    assert "07339:1:2" not in sim.registry.parcels


async def test_a_plot_the_database_always_fails_on_is_isolated_by_halving(
    client: NationalDbClient, sim: Simulator
) -> None:
    sim.faults = Faults(fail_parcels=frozenset({"07339:1:3"}))
    outcomes = await client.send(_plots(8), max_failures=1, bisect_failures=True)
    assert isinstance(outcomes[3], Unsent)
    assert outcomes[3].failures == 1
    assert sum(isinstance(o, Synced) for o in outcomes) == 7


async def test_without_halving_a_failing_batch_is_unsent_after_its_budget(
    client: NationalDbClient, sim: Simulator
) -> None:
    sim.faults = Faults(error_rate=1.0)
    outcomes = await client.send(_plots(3), max_failures=2)
    assert all(isinstance(o, Unsent) and o.failures == 2 and o.attempts == 2 for o in outcomes)
    assert sim.registry.stats.unavailable == 2


async def test_after_a_429_nothing_is_sent_before_retry_after(
    client: NationalDbClient, sim: Simulator
) -> None:
    sim.faults = Faults(rate_limit_rate=1.0, retry_after_s=1)
    started = time.monotonic()
    first = await client.send(_plots(1), max_failures=1)
    sim.faults = Faults()
    second = await client.send(_plots(2), max_failures=1)
    assert isinstance(first[0], Unsent)
    assert first[0].retry_after == 1
    assert all(isinstance(o, Synced) for o in second)
    assert time.monotonic() - started >= 1
    assert sim.registry.stats.early_retries == 0


async def test_a_resent_plot_reuses_its_key_and_is_applied_once(
    client: NationalDbClient, sim: Simulator
) -> None:
    first = await client.send(_plots(2), max_failures=1)
    again = await client.send(_plots(2), max_failures=1)
    assert again == first
    assert sim.registry.stats.created == 2
    assert sim.registry.stats.duplicates_suppressed == 2


async def test_a_retry_after_of_1e308_seconds_is_clamped_to_the_configured_cap(
    sim: Simulator,
) -> None:
    sim.faults = Faults(rate_limit_rate=1.0, retry_after_s=1e308)
    async with _client_of(sim, concurrency=1, max_retry_after=0.05) as client:
        [outcome] = await client.send(_plots(1), max_failures=1)

    assert isinstance(outcome, Unsent)
    assert outcome.retry_after == 0.05  # not 1e308: sync would never send again
