"""``landsync demo``: stack up, a synthetic commune submitted through intake, the report printed."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import asyncpg
import httpx
import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shared.auth import create_key
from shared.cli.report_view import table
from shared.report import campaign
from shared.settings import Settings
from shared.stack import Stack
from shared.synthetic import communes, records

CHUNK = 500


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def run(settings: Settings, console: Console, *, commune: str, count: int, seed: int) -> None:
    """The main job of the README, start to finish."""
    Stack(settings, console).up()
    name = dict(communes()).get(commune, "")
    console.print(
        f"\nSynthetic commune [bold]{commune} {name}[/]: {count:,} Form 01 records (seed {seed})"
    )
    asyncio.run(_submit_and_report(settings, console, commune, count, seed))


async def _submit_and_report(
    settings: Settings, console: Console, commune: str, count: int, seed: int
) -> None:
    batch = list(records(commune, count, seed=seed, run=f"demo{seed}"))
    conn = await asyncpg.connect(settings.dsn)
    try:
        key, _ = await create_key(conn, "submitter", [commune], label="demo")
        statuses = await _submit(settings, console, key, batch)
        console.print(
            "Intake answered: "
            + ", ".join(f"{n:,} {status.replace('_', ' ')}" for status, n in statuses.items())
        )
        await _wait_decided(conn, console, [r["submission_id"] for r in batch])
        console.print()
        console.print(table(await campaign(conn)))
        console.print(
            "[dim]Reconcile and sync are minimal in this build: every record is accepted, and "
            "plots wait for the national-database client (sync rate 0 %).[/]"
        )
    finally:
        await conn.close()


async def _submit(
    settings: Settings, console: Console, key: str, batch: list[dict[str, Any]]
) -> Counter[str]:
    statuses: Counter[str] = Counter()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}
    url = f"{settings.service_url('intake')}/v1/records:ndjson"
    with _progress(console) as progress:
        task = progress.add_task("Submitting through intake", total=len(batch))
        async with httpx.AsyncClient(timeout=120) as client:
            for start in range(0, len(batch), CHUNK):
                chunk = batch[start : start + CHUNK]
                body = b"\n".join(orjson.dumps(r) for r in chunk)
                response = await client.post(url, content=body, headers=headers)
                response.raise_for_status()
                statuses.update(r["status"] for r in response.json()["results"])
                statuses.update(["refused"] * len(response.json()["errors"]))
                progress.advance(task, len(chunk))
    return statuses


async def _wait_decided(
    conn: asyncpg.Connection[Any], console: Console, submission_ids: list[str], timeout: float = 300
) -> None:
    query = "SELECT count(*) FROM records WHERE submission_id = ANY($1) AND status <> 'received'"
    deadline = time.monotonic() + timeout
    with _progress(console) as progress:
        task = progress.add_task("Waiting for decisions", total=len(submission_ids))
        while True:
            decided = await conn.fetchval(query, submission_ids)
            progress.update(task, completed=decided)
            if decided >= len(submission_ids) or time.monotonic() > deadline:
                return
            await asyncio.sleep(0.3)
