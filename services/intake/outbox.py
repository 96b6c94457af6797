"""The outbox in PostgreSQL, as the relay uses it: claim rows in id order, delete them on success.

The relay's port (:class:`services.intake.relay.Outbox`) says what it needs; this is the real one.
A claim is one transaction holding a transaction-scoped advisory lock, which keeps one relay active
at a time (several intake replicas may run) and so keeps each parcel's records in order. The rows
claimed are deleted when the claim ends normally, in the same transaction: a crash or an error
inside the claim rolls the delete back, so the rows are published again later.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import asyncpg

from services.intake.relay import Pending

CHANNEL = "landsync_outbox"
_LOCK_KEY = 0x4F555442  # "OUTB"
_PENDING = """
SELECT o.id, o.record_id, o.traceparent, r.record::text AS record, r.parcel_key, r.commune_code
FROM outbox o JOIN records r USING (record_id)
ORDER BY o.id
LIMIT $1
"""


class PgOutbox:
    """The ``outbox`` table joined to the ledger, and the ``landsync_outbox`` notification."""

    def __init__(self, pool: asyncpg.Pool[Any], dsn: str) -> None:
        self._pool = pool
        self._dsn = dsn
        self._listener: asyncpg.Connection[Any] | None = None

    async def listen(self, notify: Callable[..., None]) -> None:
        """Call ``notify`` whenever outbox rows are committed (the trigger of migration 0008)."""
        if self._listener is not None and not self._listener.is_closed():
            return
        # Its own connection, outside the pool: a pooled one would be handed to other work.
        listener: asyncpg.Connection[Any] = await asyncpg.connect(self._dsn)
        await listener.add_listener(CHANNEL, notify)
        self._listener = listener

    @contextlib.asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[Sequence[Pending] | None]:
        """The first ``limit`` rows (None if another relay holds the lock), deleted on exit."""
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _LOCK_KEY):
                yield None
                return
            # On a young database the statistics still say "empty", and the planner would join
            # each outbox row to the ledger by a sequential scan: as slow as the ledger is big.
            # The primary keys are always the right path here.
            await conn.execute("SET LOCAL enable_seqscan = off")
            rows = [Pending(*row) for row in await conn.fetch(_PENDING, limit)]
            yield rows
            if rows:
                await conn.execute("DELETE FROM outbox WHERE id = ANY($1)", [r.id for r in rows])

    async def close(self) -> None:
        """Close the listening connection."""
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
