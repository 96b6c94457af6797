"""The benchmarks' own stack: a state directory and ports of its own, apart from the campaign's.

Benchmarks write thousands of made-up records; on the campaign's stack they would end up in its
ledger and its report. Here each run may empty the ledger first.
"""

from __future__ import annotations

import asyncpg

from shared.settings import PROJECT_ROOT, Settings, isolated

BASE = 26_000  # below the ephemeral port range (see shared.settings.isolated)


def bench_settings() -> Settings:
    """The bench stack's settings: ``.landsync-bench``, ports from 26000."""
    return isolated(BASE, PROJECT_ROOT / ".landsync-bench")


async def reset_ledger(settings: Settings) -> None:
    """Empty the bench stack's ledger (the registry stays): each run starts from nothing."""
    conn = await asyncpg.connect(settings.dsn)
    try:
        await conn.execute("TRUNCATE records, outbox, parcels, sync_retries")
    finally:
        await conn.close()
