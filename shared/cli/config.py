"""The settings every command reads, and one database connection for a command's work.

The settings are the environment's, with the local cluster's node count.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from shared.db.connection import connected
from shared.settings import Settings

T = TypeVar("T")


def local_settings() -> Settings:
    """``Settings()``, with as many Kafka nodes as the local cluster was formatted with.

    So that, after ``landsync up --brokers 3``, a command bootstraps from all three nodes even if
    node 1 is the one down, without being told ``LANDSYNC_KAFKA_BROKERS`` again.
    """
    from shared.stack.stack import with_formatted_nodes  # noqa: PLC0415 - keeps --help fast

    return with_formatted_nodes(Settings())


def on_database(
    work: Callable[[asyncpg.Connection[Any]], Awaitable[T]], settings: Settings | None = None
) -> T:
    """Run ``work(conn)`` on one plain connection to ``settings.dsn`` (default: the local one)."""
    dsn = (settings or local_settings()).dsn

    async def run() -> T:
        async with connected(dsn) as conn:
            return await work(conn)

    return asyncio.run(run())
