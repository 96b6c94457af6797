"""``landsync init`` against the real test stack: idempotent, schema and topics in place, --wait."""

from __future__ import annotations

import uuid
from typing import Any

from shared.db.connection import connected
from shared.db.migrate import MIGRATIONS_DIR
from shared.kafka.admin import admin_client
from shared.settings import Settings
from shared.stack import Stack
from shared.topics import Topics
from tests.support import landsync


async def _partitions(bootstrap: str) -> dict[str, int]:
    """Every topic of the cluster with its partition count."""
    async with admin_client(bootstrap) as admin:
        described: list[dict[str, Any]] = await admin.describe_topics()
    return {t["topic"]: len(t["partitions"]) for t in described}


def _with_fresh_prefix(settings: Settings) -> tuple[Settings, dict[str, int]]:
    """The test stack's settings with topic names no one has created yet, and those topics."""
    prefix = f"{settings.topic_prefix}init{uuid.uuid4().hex[:6]}."
    fresh = settings.model_copy(update={"topic_prefix": prefix})
    # Not fresh.topics: model_copy keeps the cached property of the original.
    return fresh, Topics(prefix, settings.topic_partitions, settings.dlq_partitions).all()


async def test_init_twice_migrates_creates_the_topics_and_changes_nothing_the_second_time(
    stack: Stack, settings: Settings
) -> None:
    fresh, topics = _with_fresh_prefix(settings)

    first = landsync(fresh, "init", "--timeout", "60")
    assert first.returncode == 0, first.stderr
    assert f"{len(topics)} topics created" in first.stdout
    second = landsync(fresh, "init", "--timeout", "60")
    assert second.returncode == 0, second.stderr
    assert f"0 topics created, {len(topics)} already there" in second.stdout
    assert "no migration pending" in second.stdout

    have = await _partitions(settings.bootstrap)
    assert {name: have.get(name) for name in topics} == topics
    async with connected(settings.dsn) as conn:
        versions = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
    assert versions == {p.stem for p in MIGRATIONS_DIR.glob("*.sql")}

    waited = landsync(fresh, "init", "--wait", "--timeout", "30")
    assert waited.returncode == 0, waited.stderr
    assert f"all {len(topics)} topics exist" in waited.stdout


async def test_no_topics_creates_none_and_wait_fails_while_they_are_missing(
    stack: Stack, settings: Settings
) -> None:
    fresh, topics = _with_fresh_prefix(settings)

    skipped = landsync(fresh, "init", "--no-topics", "--timeout", "60")
    assert skipped.returncode == 0, skipped.stderr
    assert "topics not touched (--no-topics)" in skipped.stdout
    assert not set(topics) & set(await _partitions(settings.bootstrap))

    waited = landsync(fresh, "init", "--wait", "--timeout", "3")
    assert waited.returncode == 1
    assert "landsync init failed" in waited.stderr
    assert "topics missing" in waited.stderr
    assert not set(topics) & set(await _partitions(settings.bootstrap))  # --wait creates nothing


def test_an_unreachable_database_fails_with_a_clear_message_and_no_password(
    settings: Settings,
) -> None:
    # Port 1: nothing listens there. No stack needed.
    down = settings.model_copy(
        update={"database_url": "postgresql://landsync:s3cret-pw@127.0.0.1:1/landsync"}
    )
    result = landsync(down, "init", "--timeout", "2")
    assert result.returncode == 1
    assert "landsync init failed" in result.stderr
    assert "postgresql://landsync:***@127.0.0.1:1/landsync" in result.stderr
    assert "not reachable" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout
