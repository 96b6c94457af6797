"""Stops a submitter key from using reconciliation as an oracle on the population registry.

The threat: a key of commune B submits records holding real personal IDs with guessed birth dates
and reads the decisions ("the birth date differs from the registry's"). An honest commune gets a
few such misses, because it typed its forms from documents; a key probing the registry gets
mostly misses. So each key may have at most ``LANDSYNC_REGISTRY_MISSES_PER_HOUR`` records decided
``owner_unresolved`` in the last hour; past that its submissions are refused with 429 until the
hour has moved on, each refusal is written to the ``audit_events`` table and counted
(``landsync_intake_registry_probe_refusals_total``), so an alert can fire. The detail stays as
it is for everyone under the limit: it is what the commune needs to fix its form.
"""

from __future__ import annotations

import time
from typing import Any

import asyncpg
import orjson

from services.intake import metrics
from services.intake.errors import ApiError
from shared.auth import ApiKey
from shared.logging import get_logger

log = get_logger(__name__)
_CACHE_SECONDS = 10.0  # a key's count is read at most this often: the check is on the hot path
_MISSES = """
SELECT count(*) FROM records
WHERE submitted_by = $1 AND decision = 'dead_lettered' AND decided_at > now() - interval '1 hour'
  AND reasons @> '[{"code": "owner_unresolved"}]'
"""


class ProbeGuard:
    """Refuses submissions of keys over the hourly limit of registry misses."""

    def __init__(self, pool: asyncpg.Pool[Any], misses_per_hour: int) -> None:
        self._pool = pool
        self._limit = misses_per_hour
        self._counts: dict[str, tuple[float, int]] = {}

    async def check(self, key: ApiKey) -> None:
        """Raise a 429 if ``key`` is over the limit; cheap while it is not."""
        misses = await self._misses(key.key_id)
        if misses < self._limit:
            return
        metrics.REGISTRY_PROBE_REFUSALS.inc()
        log.warning("registry probe limit", api_key=key.key_id, misses=misses, limit=self._limit)
        await self._pool.execute(
            "INSERT INTO audit_events (actor, action, detail) VALUES ($1, $2, $3::text::jsonb)",
            key.key_id,
            "registry_probe_refused",
            orjson.dumps({"misses_last_hour": misses, "limit": self._limit}).decode(),
        )
        raise ApiError(
            429,
            "registry_probe_limit",
            f"{misses} records of this key were decided owner_unresolved in the last hour"
            f" (the limit is {self._limit}): check the owners' IDs and birth dates against"
            " their documents, or ask an operator",
            headers={"Retry-After": "600"},
        )

    async def _misses(self, key_id: str) -> int:
        now = time.monotonic()
        cached = self._counts.get(key_id)
        if cached and cached[0] > now:
            return cached[1]
        misses: int = await self._pool.fetchval(_MISSES, key_id)
        if len(self._counts) > 10_000:  # keys are few; this only bounds a pathological case
            self._counts.clear()
        self._counts[key_id] = (now + _CACHE_SECONDS, misses)
        return misses
