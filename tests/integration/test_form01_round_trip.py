"""A generated commune as Form 01 workbooks through ``landsync import``, and the demo from them."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest

from shared.settings import Settings
from shared.stack.services import child_env
from tests.form01_files import cells_of
from tests.support import eventually, generated_commune, landsync_ok, run_cli

PLOTS, SEED = "150", "7"


@pytest.fixture(scope="module")
async def empty_ledger(db: asyncpg.Pool[Any]) -> None:
    """Other modules' records of the same generated commune would be decided against these."""
    await db.execute(
        "TRUNCATE records, outbox, parcels, cases, dlq_replayed, dlq_replays,"
        " campaign_targets, campaign_window"
    )


async def test_workbooks_imported_score_as_the_json_records_do(
    settings: Settings, empty_ledger: None, tmp_path: Path
) -> None:
    out = generated_commune(settings, tmp_path / "province", PLOTS, SEED, "--format", "xlsx")
    folder = out / "form01"
    names = (folder / "files.txt").read_text().split()
    truth = folder / "truth.jsonl"
    expected = len(truth.read_bytes().splitlines())

    for name in names:
        landsync_ok(settings, "import", str(folder / name))  # every row went in

    async def scored() -> dict[str, Any] | None:
        done = await asyncio.to_thread(
            landsync_ok, settings, "evaluate", "--truth", str(truth), "--json", timeout=600
        )
        result: dict[str, Any] = orjson.loads(done.stdout)
        return result if result["undecided"] == 0 and result["missing"] == 0 else None

    result = await eventually(scored, timeout=240, interval=2)
    assert result["total"] == expected == len((out / "records.jsonl").read_bytes().splitlines())
    assert result["accuracy"] == 1.0  # as the same records sent as JSON (test_pipeline)


def test_the_demo_runs_from_workbooks_and_names_the_annotated_files(
    settings: Settings, empty_ledger: None
) -> None:
    env = {**child_env(settings), "COLUMNS": "200", "PATH": os.environ.get("PATH", "")}
    done = run_cli(env, "demo", "--from-excel", "--plots", PLOTS, "--seed", SEED, timeout=900)
    output = done.stdout + done.stderr

    assert done.returncode == 0, output[-3000:]
    assert re.search(r"Importing \d+ Form 01 workbooks", output), output[-3000:]
    annotated = [line.rsplit(" ", 1)[-1] for line in output.splitlines() if "annotated" in line]
    assert annotated, output[-3000:]
    assert all(Path(p).is_file() for p in annotated if p.endswith(".xlsx"))
    # Each annotated copy holds its records' decisions, not only what intake answered.
    statuses = {row[-2] for p in annotated if p.endswith(".xlsx") for row in cells_of(Path(p))[2:]}
    assert "Bị trả lại / rejected" in statuses, statuses
    assert "Đã nhận / received" not in statuses, statuses
    assert "Case clean rate" in output  # the report was printed after the import
    assert "landsync evaluate --truth" in output
    assert "form01/truth.jsonl" in output
