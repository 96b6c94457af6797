"""The benchmarks' own stack: a state directory and ports of its own, apart from the campaign's.

Benchmarks write thousands of made-up records; on the campaign's stack they would end up in its
ledger and its report. Here each run may empty the ledger first; a province's registry loaded
here is kept between runs.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import orjson
from rich.console import Console

from shared.settings import PROJECT_ROOT, Settings, isolated
from shared.stack import Stack
from shared.stack.services import child_env

BASE = 26_000  # below the ephemeral port range (see shared.settings.isolated)
MIN_RESIDENTS, MIN_CERTIFICATES = 1_000_000, 700_000


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


def fresh(console: Console) -> tuple[Settings, Stack]:
    """The bench stack up, with an empty ledger."""
    settings = bench_settings()
    stack = Stack(settings, console)
    stack.up()
    asyncio.run(reset_ledger(settings))
    return settings, stack


def prepared(data: Path, console: Console) -> tuple[Settings, Stack, tuple[int, int]]:
    """:func:`fresh`, with ``data``'s registry loaded; the registry's size."""
    settings, stack = fresh(console)
    return settings, stack, ensure_registry(settings, data, console)


def ensure_registry(settings: Settings, data: Path, console: Console) -> tuple[int, int]:
    """Load the data directory's registry unless the bench database already holds enough."""
    counts = asyncio.run(_counts(settings))
    if counts[0] >= MIN_RESIDENTS and counts[1] >= MIN_CERTIFICATES:
        return counts
    for kind in ("residents", "certificates"):
        console.print(f"Loading {kind} from {data}")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "shared.cli.main",
                "registry",
                "load",
                kind,
                str(data / f"{kind}.csv"),
            ],
            env=child_env(settings),
            check=True,
        )
    return asyncio.run(_counts(settings))


async def _counts(settings: Settings) -> tuple[int, int]:
    conn = await asyncpg.connect(settings.dsn)
    try:
        residents = await conn.fetchval("SELECT count(*) FROM residents")
        certificates = await conn.fetchval("SELECT count(*) FROM certificates")
    finally:
        await conn.close()
    return int(residents), int(certificates)


def payload(data: Path, count: int) -> list[bytes]:
    """The first ``count`` records of the data directory, with this run's submission ids."""
    run = uuid.uuid4().hex[:6]
    lines: list[bytes] = []
    with (data / "records.jsonl").open("rb") as f:
        for line in f:
            if len(lines) == count:
                break
            record = orjson.loads(line)
            record["submission_id"] = f"bench-{run}-{record['submission_id']}"
            lines.append(orjson.dumps(record))
    return lines
