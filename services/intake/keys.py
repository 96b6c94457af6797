"""Checks presented API keys against the database, with a short cache so requests stay cheap."""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import asyncpg

from shared.auth import ApiKey, find_key, matches, split_key

_Found = tuple[ApiKey, bytes] | None


def _size(key_id: str, found: _Found) -> int:
    """A generous estimate of one cache entry's bytes: the id, the key, its communes, the hash."""
    if found is None:
        return 200 + len(key_id)
    return 400 + len(key_id) + sum(80 + len(c) for c in found[0].communes)


class KeyCache:
    """A least-recently-used cache of key lookups, bounded in entries and in bytes.

    It also keeps missing key ids, so a flood of unknown (well-shaped) keys does not reach the
    database each time; being bounded, such a flood only evicts entries, it never grows memory.
    """

    def __init__(self, ttl: float, max_entries: int = 10_000, max_bytes: int = 8 << 20) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[float, _Found, int]] = OrderedDict()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key_id: str, now: float) -> tuple[bool, _Found]:
        """(hit, what was found) for a key id looked up less than ``ttl`` seconds ago."""
        entry = self._entries.get(key_id)
        if entry is None:
            return False, None
        if entry[0] <= now:
            self._drop(key_id)
            return False, None
        self._entries.move_to_end(key_id)
        return True, entry[1]

    def put(self, key_id: str, found: _Found, now: float) -> None:
        """Remember a lookup; evict the least recently used entries beyond the bounds."""
        self._drop(key_id)
        size = _size(key_id, found)
        self._entries[key_id] = (now + self._ttl, found, size)
        self.bytes += size
        while self._entries and (
            len(self._entries) > self._max_entries or self.bytes > self._max_bytes
        ):
            self._drop(next(iter(self._entries)))

    def _drop(self, key_id: str) -> None:
        entry = self._entries.pop(key_id, None)
        if entry is not None:
            self.bytes -= entry[2]


class KeyVerifier:
    """Turns an ``Authorization`` header into an :class:`ApiKey`, or None.

    Keys are cached for ``ttl`` seconds (a revoked key stops working within that time); an
    expired key stops at once, since its expiry is checked on every request.
    """

    def __init__(self, pool: asyncpg.Pool[Any], ttl: float) -> None:
        self._pool = pool
        self.cache = KeyCache(ttl)

    async def verify(self, token: str | None) -> ApiKey | None:
        """The key a ``Bearer`` token names, if it is valid, not revoked and not expired."""
        if not token:
            return None
        parts = split_key(token.strip())
        if parts is None:  # not shaped like a key: no lookup, no cache entry
            return None
        key_id, secret = parts
        found = await self._lookup(key_id)
        if found is None or not matches(secret, found[1]):
            return None
        if found[0].expired(datetime.now(UTC)):
            return None
        return found[0]

    async def _lookup(self, key_id: str) -> _Found:
        now = time.monotonic()
        hit, found = self.cache.get(key_id, now)
        if hit:
            return found
        found = await find_key(self._pool, key_id)
        self.cache.put(key_id, found, now)
        return found
