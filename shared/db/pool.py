"""Creates asyncpg pools with LandSync's type codecs (jsonb as Python objects through orjson)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
import orjson
from asyncpg.pool import PoolConnectionProxy


def _dumps(value: Any) -> str:  # noqa: ANN401 - a JSON value
    return orjson.dumps(value).decode()


async def _init_connection(conn: asyncpg.Connection[Any]) -> None:
    await conn.set_type_codec("jsonb", encoder=_dumps, decoder=orjson.loads, schema="pg_catalog")


async def connect(dsn: str) -> asyncpg.Connection[Any]:
    """One connection with the pools' codecs: shared code reads jsonb as Python values."""
    conn: asyncpg.Connection[Any] = await asyncpg.connect(dsn)
    await _init_connection(conn)
    return conn


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, application_name: str | None = None
) -> asyncpg.Pool[Any]:
    """A pool whose connections read and write jsonb as Python values.

    ``application_name`` names its connections in ``pg_stat_activity`` (and to a proxy).
    """
    settings = {"application_name": application_name} if application_name else None
    pool: asyncpg.Pool[Any] = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, server_settings=settings
    )
    return pool


#: A connection, whether opened directly or borrowed from a pool.
if TYPE_CHECKING:
    Conn: TypeAlias = asyncpg.Connection[Any] | PoolConnectionProxy[Any]
else:  # asyncpg's classes are generic only in its stubs
    Conn = asyncpg.Connection | PoolConnectionProxy
