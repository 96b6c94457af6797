"""A service's watch on Kafka and PostgreSQL: ``landsync_dependency_up`` and its log lines."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from shared.dependencies import KAFKA, POSTGRES, Dependency, pool_answers
from shared.kafka.producer import Producer


def watch_kafka_and_postgres(
    producer: Producer, pool: asyncpg.Pool[Any]
) -> list[asyncio.Task[None]]:
    """Check Kafka through ``producer`` and PostgreSQL through ``pool``, until cancelled."""
    return [
        asyncio.create_task(Dependency(KAFKA).watch(producer.ping), name="kafka"),
        asyncio.create_task(Dependency(POSTGRES).watch(lambda: pool_answers(pool)), name="pg"),
    ]
