"""Samples the ledger's backlog into gauges: unpublished outbox rows and undecided records.

Measured in the database, not inside the relay or the consumers, so the figures keep growing
when the process that should drain them is dead or stuck, which is when an alert matters most.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from services.intake import metrics, sampling
from shared.logging import get_logger

log = get_logger(__name__)
INTERVAL_SECONDS = 5.0
# Scalar subqueries by primary key and the partial index records_undecided (migration 0014):
# no plan here reads the whole ledger, whatever its statistics say.
_BACKLOG = """
SELECT
  (SELECT count(*) FROM outbox) AS outbox_pending,
  (SELECT extract(epoch FROM now() - r.received_at) FROM records r
   WHERE r.record_id = (SELECT record_id FROM outbox ORDER BY id LIMIT 1)) AS outbox_oldest,
  (SELECT count(*) FROM records WHERE decision = 'received') AS undecided,
  (SELECT extract(epoch FROM now() - min(received_at)) FROM records
   WHERE decision = 'received') AS undecided_oldest
"""


async def sample(pool: asyncpg.Pool[Any]) -> None:
    """Read the backlog once and set the gauges."""
    row = await pool.fetchrow(_BACKLOG, timeout=10)
    if row is None:  # never: a SELECT without FROM returns one row
        return
    metrics.OUTBOX_PENDING.set(row["outbox_pending"])
    metrics.OUTBOX_OLDEST.set(max(0.0, float(row["outbox_oldest"] or 0)))
    metrics.UNDECIDED.set(row["undecided"])
    metrics.UNDECIDED_OLDEST.set(max(0.0, float(row["undecided_oldest"] or 0)))


async def sample_forever(pool: asyncpg.Pool[Any], interval: float = INTERVAL_SECONDS) -> None:
    """Sample every ``interval`` seconds until cancelled; a database outage keeps the last ones."""
    await sampling.sample_forever(
        lambda: sample(pool), log=log, event="backlog not sampled", interval=interval
    )
