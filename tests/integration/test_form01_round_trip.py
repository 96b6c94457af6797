"""A generated commune as Form 01 workbooks through ``landsync import``, and the demo from them."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest

from shared.settings import Settings
from shared.stack.services import child_env
from tests.form01_files import cells_of
from tests.support import eventually, landsync

PLOTS, SEED = "150", "7"


@pytest.fixture(scope="module")
async def empty_ledger(db: asyncpg.Pool[Any]) -> None:
    """Other modules' records of the same generated commune would be decided against these."""
    await db.execute(
        "TRUNCATE records, outbox, parcels, cases, dlq_replayed, dlq_replays,"
        " campaign_targets, campaign_window"
    )


def _ok(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    done = landsync(settings, *args, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-2000:]
    return done


async def test_workbooks_imported_score_as_the_json_records_do(
    settings: Settings, empty_ledger: None, tmp_path: Path
) -> None:
    out = tmp_path / "province"
    _ok(settings, "generate", "--communes", "1", "--plots", PLOTS, "--seed", SEED,
        "--out", str(out), "--format", "xlsx")  # fmt: skip
    _ok(settings, "registry", "load", "residents", str(out / "residents.csv"))
    _ok(settings, "registry", "load", "certificates", str(out / "certificates.csv"))
    folder = out / "form01"
    names = (folder / "files.txt").read_text().split()
    truth = folder / "truth.jsonl"
    expected = len(truth.read_bytes().splitlines())

    for name in names:
        imported = landsync(settings, "import", str(folder / name))
        assert imported.returncode == 0, imported.stderr[-2000:]  # every row went in

    async def scored() -> dict[str, Any] | None:
        done = await asyncio.to_thread(_ok, settings, "evaluate", "--truth", str(truth), "--json")
        result: dict[str, Any] = orjson.loads(done.stdout)
        return result if result["undecided"] == 0 and result["missing"] == 0 else None

    result = await eventually(scored, timeout=240, interval=2)
    assert result["total"] == expected == len((out / "records.jsonl").read_bytes().splitlines())
    assert result["accuracy"] == 1.0  # as the same records sent as JSON (test_pipeline)


def test_the_demo_runs_from_workbooks_and_names_the_annotated_files(
    settings: Settings, empty_ledger: None
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shared.cli.main", "demo", "--from-excel",
         "--plots", PLOTS, "--seed", SEED],
        env={**child_env(settings), "COLUMNS": "200", "PATH": os.environ.get("PATH", "")},
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
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
