"""``landsync demo``: stack up, a synthetic commune submitted through intake, the report printed."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from rich.console import Console

from shared import worklist
from shared.auth import create_key
from shared.cli.failures import CommandError, Status
from shared.cli.records_commands import records_table
from shared.cli.report_view import reasons_table, table
from shared.cli.submit import post_lines, progress, wait_decided
from shared.db.pool import connect
from shared.generate.province import generation_tag
from shared.generate.rates import Rates
from shared.report import Row, campaign
from shared.settings import Settings
from shared.stack import Stack
from shared.stack.services import child_env


def _landsync(settings: Settings, console: Console, *args: str) -> None:
    # The same commands an operator would type, run against this stack's settings.
    done = subprocess.run(
        [sys.executable, "-m", "shared.cli.main", *args],
        env={**child_env(settings), "COLUMNS": "200"},  # its summary on one line
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        console.print(done.stdout, done.stderr, markup=False)
        raise SystemExit(done.returncode)
    summary = (done.stdout + done.stderr).strip().splitlines()
    if summary:
        console.print(f"  {summary[-1]}", markup=False)


def run(
    settings: Settings,
    console: Console,
    *,
    communes: int,
    plots: int,
    seed: int,
    from_excel: bool = False,
) -> None:
    """The main job of the README, start to finish; ``from_excel``: the first pass as workbooks."""
    Stack(settings, console).up(supervise=True)  # the stack stays up after the demo: keep it so
    tag = generation_tag(seed, communes, plots, Rates())
    data = settings.state_dir.resolve() / f"demo-province-{communes}-{plots}-{seed}-{tag}"
    done = data / ("form01/files.txt" if from_excel else "truth.corrections.jsonl")
    if not done.exists():
        console.print(f"\nGenerating a synthetic commune: {plots:,} Form 01 records (seed {seed})")
        excel = ("--format", "xlsx") if from_excel else ()
        _landsync(settings, console, "generate", "--communes", str(communes), "--plots", str(plots),
                  "--seed", str(seed), "--out", str(data), *excel)  # fmt: skip
    lines = _lines(data / "records.jsonl")
    fixes = _lines(data / "records.corrections.jsonl")
    # Imported rows get ids of their content (f01-…): the generation tag is not in them.
    prefixes = {c: f"f01-{c}" for c in id_prefixes(lines)} if from_excel else None
    asyncio.run(refuse_other_generations(settings, lines, prefixes))
    console.print("Loading the population registry and the certificates")
    _landsync(settings, console, "registry", "load", "residents", str(data / "residents.csv"))
    _landsync(settings, console, "registry", "load", "certificates", str(data / "certificates.csv"))
    first = _workbooks(settings, console, data / "form01") if from_excel else None
    asyncio.run(_submit_and_report(settings, console, lines, fixes, first))
    truth = data / ("form01/truth.jsonl" if from_excel else "truth.jsonl")
    console.print(f"\nCompare with the generator's truth file: landsync evaluate --truth {truth}")
    console.print(f"(and the corrections': {data / 'truth.corrections.jsonl'})")


def id_prefixes(lines: list[bytes]) -> dict[str, str]:
    """Each commune's submission-id prefix in generated records (``tan-yen-2025-3fa91c``)."""
    prefixes: dict[str, str] = {}
    for line in lines:
        record = orjson.loads(line)
        prefixes.setdefault(record["commune_code"], record["submission_id"].rsplit("-", 1)[0])
    return prefixes


async def refuse_other_generations(
    settings: Settings, lines: list[bytes], prefixes: dict[str, str] | None = None
) -> None:
    """Fail when the ledger holds other records of the demo's communes.

    Another seed or size generates other records for the same parcels: they would be decided
    against the earlier ones (duplicate_conflict) and the report would mix both demos.
    """
    conn = await connect(settings.dsn)
    try:
        for commune, prefix in (prefixes or id_prefixes(lines)).items():
            others = await conn.fetchval(
                "SELECT count(*) FROM records WHERE commune_code = $1"
                " AND submission_id NOT LIKE $2",
                commune,
                f"{prefix}-%",
            )
            if others:
                raise CommandError(
                    f"the ledger already holds {others:,} records of commune {commune} that"
                    " this demo did not generate (another --seed or --plots, or other"
                    " submissions): its parcels would be decided against them and the report"
                    " would mix both; run the demo with a fresh LANDSYNC_STATE_DIR, or the same"
                    " --seed and --plots as before",
                    Status.REFUSED,
                )
    finally:
        await conn.close()


def _workbooks(
    settings: Settings, console: Console, folder: Path
) -> Callable[[asyncpg.Connection[Any], str], Awaitable[Row]]:
    """The first pass as a commune sends it: each workbook through ``landsync import --wait``.

    Each annotated copy then holds its records' decisions, the file the commune corrects.
    """

    async def first_pass(conn: asyncpg.Connection[Any], key: str) -> Row:
        names = (folder / "files.txt").read_text().split()
        console.print(f"\nImporting {len(names)} Form 01 workbooks (landsync import)")
        for name in names:
            path = folder / name
            out = path.with_name(f"{path.stem}.annotated.xlsx")
            done = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "shared.cli.main", "import", str(path),
                 "--annotated", str(out), "--key", key, "--wait"],
                env={**child_env(settings), "COLUMNS": "200"},
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode not in (0, 1):  # 1: rows refused, written in the annotated copy
                console.print(done.stdout, done.stderr, markup=False)
                raise SystemExit(done.returncode)
            console.print(f"  {name}: its decisions are in {out}", markup=False, soft_wrap=True)
        truth = [orjson.loads(line) for line in _lines(folder / "truth.jsonl")]
        ids = await conn.fetch(
            "SELECT record_id::text FROM records WHERE submission_id = ANY($1::text[])",
            [t["submission_id"] for t in truth],
        )
        return await report_pass(settings, console, conn, [r[0] for r in ids])

    return first_pass


def _lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines() if line.strip()]


async def _submit_and_report(
    settings: Settings,
    console: Console,
    lines: list[bytes],
    fixes: list[bytes],
    first: Callable[[asyncpg.Connection[Any], str], Awaitable[Row]] | None = None,
) -> None:
    """The first pass, the commune's worklist, its corrections, and the report after each."""
    communes = sorted({orjson.loads(line)["commune_code"] for line in lines})
    conn = await connect(settings.dsn)  # the worklist reads reasons as jsonb values
    try:
        key, _ = await create_key(conn, "submitter", communes, label="demo")
        if first is None:
            before = await submission_pass(settings, console, conn, key, lines)
        else:
            before = await first(conn, key)
        items, _ = await worklist.page(conn, worklist.Query([communes[0]], limit=10))
        console.print(f"\nWhat {communes[0]} has to fix (the first {len(items)} open cases):")
        console.print(records_table(items))
        console.print(
            f"\nThe communes send {len(fixes):,} corrections (landsync generate's"
            " records.corrections.jsonl)"
        )
        after = await submission_pass(settings, console, conn, key, fixes) if fixes else before
        console.print(
            f"Case clean rate {_rate(before.case_clean_rate)} → {_rate(after.case_clean_rate)}"
            f" after the corrections ({after.corrections:,} records corrected an open case)"
        )
    finally:
        await conn.close()


async def submission_pass(
    settings: Settings, console: Console, conn: asyncpg.Connection[Any], key: str,
    lines: list[bytes],
) -> Row:  # fmt: skip
    """Submit the lines, wait for their decisions and sync, print the report; refused: fail."""
    sent = await post_lines(settings, console, key, lines)
    console.print(f"Intake answered: {sent.summary()}")
    if sent.refused:
        # The report would show what the ledger held before, as if it were this demo's.
        kinds = Counter(str(errors[0].get("type", "refused")) for _, errors in sent.refused)
        why = ", ".join(f"{n:,} {kind.replace('_', ' ')}" for kind, n in kinds.most_common())
        hint = (
            "the stack holds other records under the same submission ids"
            if "submission_conflict" in kinds
            else "`landsync submit --errors FILE` writes them with the reasons"
        )
        raise CommandError(
            f"intake refused {len(sent.refused):,} of the demo's {len(lines):,} records ({why}):"
            f" {hint}; run the demo with a fresh LANDSYNC_STATE_DIR",
            Status.REFUSED,
        )
    return await report_pass(settings, console, conn, sent.record_ids)


async def report_pass(
    settings: Settings, console: Console, conn: asyncpg.Connection[Any], record_ids: list[str]
) -> Row:
    """Wait for the records' decisions and sync, then print the report."""
    await wait_decided(settings, console, record_ids)
    await _wait_synced(conn, console, record_ids)
    console.print()
    rows = await campaign(conn)
    console.print(table(rows))
    console.print(reasons_table(rows))
    return rows[-1]


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


async def _wait_synced(
    conn: asyncpg.Connection[Any], console: Console, record_ids: list[str], timeout: float = 300
) -> None:
    """Wait until every accepted plot is synced to the national database (or given up on)."""
    query = (
        "SELECT count(*) FILTER (WHERE sync_state IN ('synced', 'failed')),"
        " count(*) FILTER (WHERE decision = 'accepted')"
        " FROM records WHERE record_id = ANY($1::uuid[])"
    )
    deadline = time.monotonic() + timeout
    with progress(console) as bar:
        task = bar.add_task("Syncing to the national DB", total=None)
        while time.monotonic() < deadline:
            row = await conn.fetchrow(query, record_ids)
            done, due = (row[0], row[1]) if row else (0, 0)
            bar.update(task, completed=done, total=due)
            if done >= due:
                return
            await asyncio.sleep(0.5)
