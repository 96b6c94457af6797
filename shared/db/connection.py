"""One plain asyncpg connection for the length of a block, closed however the block ends."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg


@contextlib.asynccontextmanager
async def connected(
    dsn: str | None = None,
    **options: Any,  # noqa: ANN401 - asyncpg.connect's keyword arguments, of every type
) -> AsyncIterator[asyncpg.Connection[Any]]:
    """``asyncpg.connect(dsn, **options)`` for the block (no codecs: see ``pool.connect``)."""
    conn: asyncpg.Connection[Any] = await asyncpg.connect(dsn, **options)
    try:
        yield conn
    finally:
        await conn.close()
