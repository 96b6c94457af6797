"""``landsync bench report``'s ledger and timings, end to end on a small ledger of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.bench import report
from shared.db.pool import create_pool
from shared.report import campaign
from shared.settings import Settings
from shared.stack import Stack
from tests.integration.report_data import ledger_counts
from tests.integration.scratch_db import scratch_database


@pytest.fixture
async def scratch(stack: Stack, settings: Settings) -> AsyncIterator[str]:
    """A migrated database of its own on the test cluster (the bench truncates its ledger)."""
    async with scratch_database(settings, "landsync_bench") as dsn:
        yield dsn


async def test_the_bench_times_every_form_on_a_ledger_whose_report_is_its_direct_count(
    scratch: str, settings: Settings
) -> None:
    result = await report.run(
        settings, records=2_000, communes=8, rounds=2, owner_dsn=scratch, reader_dsn=scratch
    )

    pool = await create_pool(scratch, max_size=2)
    try:
        counted = await ledger_counts(pool)
        async with pool.acquire() as conn:
            rows = {r.commune_code: r for r in await campaign(conn)}
            in_ledger = await conn.fetchval("SELECT count(*) FROM records")
            windows = await conn.fetchval("SELECT count(*) FROM campaign_window")
    finally:
        await pool.close()
    assert result.loaded.records == in_ledger
    assert 2_000 <= in_ledger <= 2_008
    assert result.loaded.communes == 8
    assert windows == 1
    assert [len(m.seconds) for m in result.ceilings + result.forms] == [2] * 7
    assert all(s > 0 for m in result.ceilings + result.forms for s in m.seconds)
    assert result.slowest in result.forms
    assert result.loaded.html_bytes > 10_000
    assert len(rows) == 9  # eight communes and the province
    for code, row in rows.items():
        mine = counted[code]
        assert min(mine.rejected, mine.dead_lettered, mine.duplicates, mine.corrections) >= 1
        assert (row.cases, row.cases_cleaned, row.cases_synced, row.cases_open) == (
            mine.cases, mine.cases_cleaned, mine.cases_synced, mine.cases_open,
        )  # fmt: skip
        assert (row.received, row.accepted, row.synced, row.rejected, row.dead_lettered) == (
            mine.received, mine.accepted, mine.synced, mine.rejected, mine.dead_lettered,
        )  # fmt: skip
        assert (row.duplicates, row.corrections, row.target_plots) == (
            mine.duplicates, mine.corrections, mine.target_plots,
        )  # fmt: skip
        assert row.open_by_reason == mine.open_by_reason
        assert row.rejected_by_reason == mine.rejected_by_reason
        assert row.dead_lettered_by_reason == mine.dead_lettered_by_reason
