"""Checks presented API keys against the database, with a short cache so requests stay cheap."""

from __future__ import annotations

import time
from typing import Any

import asyncpg

from shared.auth import ApiKey, find_key, matches, split_key


class KeyVerifier:
    """Turns an ``Authorization`` header into an :class:`ApiKey`, or None.

    Keys are cached for ``ttl`` seconds (a revoked key stops working within that time), and a
    missing key id is cached too, so a flood of bad keys does not reach the database each time.
    """

    def __init__(self, pool: asyncpg.Pool[Any], ttl: float) -> None:
        self._pool = pool
        self._ttl = ttl
        self._cache: dict[str, tuple[float, tuple[ApiKey, bytes] | None]] = {}

    async def verify(self, authorization: str | None) -> ApiKey | None:
        """The key behind a ``Bearer`` header, if it is valid and not revoked."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        parts = split_key(authorization[7:].strip())
        if parts is None:
            return None
        key_id, secret = parts
        found = await self._lookup(key_id)
        if found is None or not matches(secret, found[1]):
            return None
        return found[0]

    async def _lookup(self, key_id: str) -> tuple[ApiKey, bytes] | None:
        now = time.monotonic()
        cached = self._cache.get(key_id)
        if cached and cached[0] > now:
            return cached[1]
        found = await find_key(self._pool, key_id)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key_id] = (now + self._ttl, found)
        return found
