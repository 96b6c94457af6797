"""Session fixtures: the real Kafka, PostgreSQL and services, started once for the whole run."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from shared.auth import Role, create_key
from shared.db.pool import create_pool
from shared.settings import PROJECT_ROOT, Settings, isolated
from shared.stack import Stack

KeyFactory = Callable[..., Awaitable[str]]
#: How many Kafka nodes the session's stack runs (see pytest_collection_finish).
_BROKERS = pytest.StashKey[int]()


def _test_settings(brokers: int = 1) -> Settings:
    # Own ports and state dir, so tests never touch a demo stack running beside them (and several
    # test runs can share a machine: LANDSYNC_TEST_PORT_BASE=41000 moves every port); a fresh topic
    # prefix per session, so every session starts from empty topics.
    base = int(os.environ.get("LANDSYNC_TEST_PORT_BASE", "29000"))
    prefix = os.environ.get("LANDSYNC_TEST_TOPIC_PREFIX") or f"t{uuid.uuid4().hex[:8]}."
    suffix = "" if base == 29000 else f"-{base}"
    # A cluster's own state dir: a node count is fixed when Kafka's directories are formatted.
    suffix += "" if brokers == 1 else f"-{brokers}brokers"
    state_dir = PROJECT_ROOT / f".landsync-test{suffix}"
    return isolated(
        base,
        state_dir,
        kafka_brokers=brokers,
        tracing=True,  # every service writes its spans where tests/integration/test_tracing reads
        trace_dir=state_dir / "traces",
        topic_prefix=prefix,
        topic_partitions=3,
        dlq_partitions=1,
        outbox_idle_seconds=0.2,
        log_level="DEBUG",
        # Short, so the slow-client tests are quick; real clients send a request in one go.
        header_timeout_seconds=2.0,
        body_timeout_seconds=2.0,
        registry_misses_per_hour=200,  # a probing key is stopped after 200 misses, not 1,000
        dlq_guard_max_run=30,  # the guard test trips it with hundreds of records, not thousands
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark everything under tests/integration as an integration test; the fuzzer runs last.

    The fuzzer and the hardening tests submit records no other test expects (random
    ``corrects``, poison, records given up, a consumer stopped by its guard), so the tests that
    compare the report with a direct count of the ledger run before them.
    """
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.integration)
    # The round trip empties the ledger first (its generated commune is every generator's), so
    # it runs after every module that counts what earlier ones left there.
    last = {"test_form01_round_trip.py": 1, "test_hardening.py": 2, "test_fuzz.py": 2}
    items.sort(key=lambda item: last.get(item.path.name, 0))


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker of tests that need a Kafka cluster."""
    config.addinivalue_line(
        "markers", "kafka_brokers(n): needs the session's Kafka to run n nodes (tests/conftest.py)"
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    """Choose the session stack's Kafka nodes: the selected tests ask for them.

    LANDSYNC_TEST_KAFKA_BROKERS decides when set. Otherwise, when every selected integration
    test carries ``kafka_brokers(n)`` (``pytest tests/integration/test_brokers.py``), the stack
    runs n nodes; in a selection that mixes them, it runs one (what the rest of the suite is
    written and measured against) and the cluster's tests are skipped, saying how to run them.
    """
    integration = [i for i in session.items if "integration" in i.path.parts]
    asked = [m.args[0] for i in integration for m in i.iter_markers("kafka_brokers")]
    wanted = os.environ.get("LANDSYNC_TEST_KAFKA_BROKERS")
    if wanted is not None:
        brokers = int(wanted)
    elif integration and all(i.get_closest_marker("kafka_brokers") for i in integration):
        brokers = max(asked)
    else:
        brokers = 1
    session.config.stash[_BROKERS] = brokers
    for item in integration:
        marker = item.get_closest_marker("kafka_brokers")
        if marker is not None and marker.args[0] > brokers:
            alone = item.path.relative_to(PROJECT_ROOT)
            reason = (
                f"needs {marker.args[0]} Kafka nodes: run it alone (pytest {alone})"
                f" or with LANDSYNC_TEST_KAFKA_BROKERS={marker.args[0]}"
            )
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def settings(request: pytest.FixtureRequest) -> Settings:
    """The settings of the test stack."""
    return _test_settings(request.config.stash.get(_BROKERS, 1))


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Iterator[Stack]:
    """Kafka, PostgreSQL and the services, up for the whole session and stopped after it."""
    stack = Stack(settings)
    stack.down()  # leftovers of an interrupted run would hold the ports
    stack.up()
    try:
        yield stack
    finally:
        stack.down()


@pytest.fixture(scope="session")
async def db(stack: Stack, settings: Settings) -> AsyncIterator[asyncpg.Pool[Any]]:
    """A pool on the test database, emptied of earlier sessions' rows.

    It connects as the migration role, which owns the tables: tests truncate them and load the
    registry as an operator would. The services themselves run as the application role.
    """
    pool = await create_pool(settings.migration_dsn)
    await pool.execute(
        "TRUNCATE records, outbox, api_keys, parcels, residents, certificates,"
        " dlq_replayed, dlq_replays, cases, campaign_targets, campaign_window"
    )
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def new_key(db: asyncpg.Pool[Any]) -> KeyFactory:
    """Creates API keys: ``await new_key("submitter", ["07339"])``."""

    async def make(role: Role = "submitter", communes: list[str] | None = None) -> str:
        async with db.acquire() as conn:
            key, _ = await create_key(conn, role, communes or [])
        return key

    return make


@pytest.fixture(scope="session")
async def intake(stack: Stack, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the intake service."""
    async with httpx.AsyncClient(base_url=settings.service_url("intake"), timeout=60) as client:
        yield client
