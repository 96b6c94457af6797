"""``landsync submit FILE.jsonl``: send Form 01 records to intake as NDJSON, with a progress bar."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import httpx
import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shared.auth import create_key
from shared.settings import Settings

CHUNK = 5_000


def progress(console: Console) -> Progress:
    """The progress bar every long CLI step uses."""
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


async def _local_key(settings: Settings, console: Console, communes: set[str]) -> str:
    conn = await asyncpg.connect(settings.dsn)
    try:
        key, made = await create_key(conn, "submitter", sorted(communes), label="landsync submit")
    finally:
        await conn.close()
    console.print(
        f"No --key and no LANDSYNC_API_KEY: created submitter key {made.key_id} for"
        f" {', '.join(sorted(communes))}. Export LANDSYNC_API_KEY to reuse a key;"
        f" `landsync keys revoke {made.key_id}` retires this one."
    )
    return key


async def post_lines(
    settings: Settings, console: Console, key: str, lines: list[bytes]
) -> tuple[Counter[str], list[str]]:
    """POST the lines in NDJSON chunks; the count of each answer, and the records' ids."""
    statuses: Counter[str] = Counter()
    record_ids: set[str] = set()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}
    url = f"{settings.service_url('intake')}/v1/records:ndjson"
    with progress(console) as bar:
        task = bar.add_task("Submitting through intake", total=len(lines))
        async with httpx.AsyncClient(timeout=300) as client:
            for start in range(0, len(lines), CHUNK):
                chunk = lines[start : start + CHUNK]
                response = await client.post(url, content=b"\n".join(chunk), headers=headers)
                if response.status_code >= 500:
                    response.raise_for_status()
                body = response.json()
                results = body.get("results", ())
                statuses.update(r["status"] for r in results)
                record_ids.update(r["record_id"] for r in results)
                for error in body.get("errors", ()):
                    statuses.update(e.get("type", "refused") for e in error["errors"][:1])
                bar.advance(task, len(chunk))
    return statuses, sorted(record_ids)


async def wait_decided(
    settings: Settings, console: Console, record_ids: list[str], timeout: float = 600
) -> int:
    """Wait until reconcile has decided every record; return how many are decided."""
    conn = await asyncpg.connect(settings.dsn)
    decided = 0
    try:
        deadline = time.monotonic() + timeout
        with progress(console) as bar:
            task = bar.add_task("Waiting for decisions", total=len(record_ids))
            while decided < len(record_ids) and time.monotonic() < deadline:
                decided = await conn.fetchval(
                    "SELECT count(*) FROM records WHERE record_id = ANY($1::uuid[])"
                    " AND decision <> 'received'",
                    record_ids,
                )
                bar.update(task, completed=decided)
                await asyncio.sleep(0.5)
    finally:
        await conn.close()
    return int(decided)


async def submit_file(
    settings: Settings, console: Console, lines: list[bytes], key: str | None, *, wait: bool
) -> Counter[str]:
    """Submit records (JSON lines); optionally wait until all are decided."""
    communes: set[str] = set()
    for line in lines:
        record: dict[str, Any] = orjson.loads(line)
        communes.add(str(record.get("commune_code")))
    if key is None and settings.api_key is not None:
        key = settings.api_key.get_secret_value()
    key = key or await _local_key(settings, console, communes)
    statuses, record_ids = await post_lines(settings, console, key, lines)
    if wait:
        await wait_decided(settings, console, record_ids)
    return statuses


def submit_command(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="records, one per line")
    ],
    key: Annotated[
        str | None,
        typer.Option(help="a submitter API key; default: LANDSYNC_API_KEY, else a new local key"),
    ] = None,
    wait: Annotated[bool, typer.Option(help="wait until every record is decided")] = True,
) -> None:
    """Submit a JSONL file of Form 01 records through intake's NDJSON endpoint."""
    console = Console(stderr=True)
    lines = [line for line in file.read_bytes().splitlines() if line.strip()]
    statuses = asyncio.run(submit_file(Settings(), console, lines, key, wait=wait))
    console.print(", ".join(f"{n:,} {s.replace('_', ' ')}" for s, n in statuses.most_common()))
