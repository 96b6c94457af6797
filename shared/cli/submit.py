"""``landsync submit FILE.jsonl``: send Form 01 records to intake as NDJSON, with a progress bar."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shared.auth import create_key_at
from shared.cli.config import local_settings
from shared.cli.failures import CommandError, Status
from shared.db.connection import connected
from shared.settings import Settings

CHUNK = 5_000
_NOT_JSONL = {".csv": "a CSV", ".xlsx": "a workbook", ".xls": "a workbook"}


@dataclass
class Sent:
    """What intake answered to a file's records."""

    statuses: Counter[str] = field(default_factory=Counter)
    record_ids: list[str] = field(default_factory=list)
    #: (index in the lines sent, intake's errors) of every record intake refused
    refused: list[tuple[int, list[dict[str, Any]]]] = field(default_factory=list)

    def summary(self) -> str:
        """``1,234 received, 3 submission conflict``."""
        return ", ".join(f"{n:,} {s.replace('_', ' ')}" for s, n in self.statuses.most_common())


def read_lines(file: Path) -> list[tuple[int, bytes]]:
    """The file's non-blank lines with their line numbers; each must be a JSON object."""
    lines = [(n, line) for n, line in enumerate(file.read_bytes().splitlines(), 1) if line.strip()]
    for n, line in lines:
        try:
            parsed = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise _not_jsonl(file, n, f"not JSON: {exc}") from exc
        if not isinstance(parsed, dict):
            raise _not_jsonl(file, n, f"a JSON {type(parsed).__name__}, not an object")
    return lines


def _not_jsonl(file: Path, line: int, why: str) -> CommandError:
    kind = _NOT_JSONL.get(file.suffix.lower())
    hint = (
        f"this looks like {kind}: a Form 01 CSV or workbook goes to `landsync import {file}`"
        if kind
        else "submit takes JSON lines, one Form 01 record per line (`landsync import` takes"
        " a Form 01 CSV or workbook)"
    )
    return CommandError(f"{file} line {line} is {why}: {hint}", Status.USAGE)


def write_refused(path: Path, sent: Sent, lines: list[tuple[int, bytes]]) -> None:
    """One JSON line per refused record: its line in the file, intake's errors, the record."""
    with path.open("wb") as out:
        for index, errors in sent.refused:
            number, line = lines[index]
            record = orjson.loads(line)
            entry = {
                "line": number,
                "submission_id": record.get("submission_id"),
                "errors": errors,
                "record": record,
            }
            out.write(orjson.dumps(entry) + b"\n")


def progress(console: Console) -> Progress:
    """The progress bar every long CLI step uses (shown on a terminal only)."""
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        # Piped or captured, a finished bar is one more line among the results (or the error).
        disable=not console.is_terminal,
    )


async def _local_key(settings: Settings, console: Console, communes: set[str]) -> str:
    key, made = await create_key_at(settings.dsn, "submitter", sorted(communes), "landsync submit")
    console.print(
        f"No --key and no LANDSYNC_API_KEY: created submitter key {made.key_id} for"
        f" {', '.join(sorted(communes))}. Export LANDSYNC_API_KEY to reuse a key;"
        f" `landsync keys revoke {made.key_id}` retires this one."
    )
    return key


async def post_lines(settings: Settings, console: Console, key: str, lines: list[bytes]) -> Sent:
    """POST the lines in NDJSON chunks: the count of each answer, the records' ids, the refused."""
    sent = Sent()
    record_ids: set[str] = set()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}
    url = f"{settings.service_url('intake')}/v1/records:ndjson"
    with progress(console) as bar:
        task = bar.add_task("Submitting through intake", total=len(lines))
        async with httpx.AsyncClient(timeout=300) as client:
            for start in range(0, len(lines), CHUNK):
                chunk = lines[start : start + CHUNK]
                response = await client.post(url, content=b"\n".join(chunk), headers=headers)
                body = _batch_answer(response)
                if body is None:
                    raise _refused_whole(response, start)
                results = body.get("results", ())
                sent.statuses.update(r["status"] for r in results)
                record_ids.update(r["record_id"] for r in results)
                for error in body.get("errors", ()):
                    sent.statuses.update(e.get("type", "refused") for e in error["errors"][:1])
                    sent.refused.append((start + error["index"], error["errors"]))
                bar.advance(task, len(chunk))
    sent.record_ids = sorted(record_ids)
    return sent


def _batch_answer(response: httpx.Response) -> dict[str, Any] | None:
    """Intake's per-record answer, or None when it refused the request whole.

    A chunk with no record received is answered 422 (403 when every one was of a commune the
    key may not submit for) in the same shape as a 202: those are refusals of records.
    """
    if response.status_code not in {202, 403, 422}:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) and "results" in body and "errors" in body else None


def _refused_whole(response: httpx.Response, start: int) -> CommandError:
    """Intake refused a whole request: why, from its error body, and what to do."""
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    why = f"{response.status_code} {error.get('code', response.reason_phrase)}"
    message = error.get("message", "")
    todo = {
        401: "give a valid submitter key (--key or LANDSYNC_API_KEY)",
        403: "the key may not submit these records: use a submitter key of their communes",
        413: "split the file",
        429: "wait (intake's Retry-After) and submit again",
    }.get(response.status_code, "see intake's log (`landsync status` shows where)")
    sent = f" ({start:,} records sent before)" if start else ""
    return CommandError(
        f"intake refused the records: {why} {message}{sent}: {todo}", Status.SERVICE
    )


async def wait_decided(
    settings: Settings, console: Console, record_ids: list[str], timeout: float = 600
) -> int:
    """Wait until reconcile has decided every record; return how many are decided."""
    decided = 0
    async with connected(settings.dsn) as conn:
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
    return int(decided)


async def submit_file(
    settings: Settings, console: Console, lines: list[bytes], key: str | None, *, wait: bool
) -> Sent:
    """Submit records (JSON lines); optionally wait until all are decided."""
    if key is None and settings.api_key is not None:
        key = settings.api_key.get_secret_value()
    if key is None:  # a new key, for the communes of the file
        communes = {str(orjson.loads(line).get("commune_code")) for line in lines}
        key = await _local_key(settings, console, communes)
    sent = await post_lines(settings, console, key, lines)
    if wait:
        await wait_decided(settings, console, sent.record_ids)
    return sent


def submit_command(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="records, one per line")
    ],
    key: Annotated[
        str | None,
        typer.Option(help="a submitter API key; default: LANDSYNC_API_KEY, else a new local key"),
    ] = None,
    wait: Annotated[bool, typer.Option(help="wait until every record is decided")] = True,
    errors: Annotated[
        Path | None,
        typer.Option(
            "--errors",
            dir_okay=False,
            help="write the refused records here (JSON lines: line, errors, record)",
        ),
    ] = None,
) -> None:
    """Submit a JSONL file of Form 01 records through intake's NDJSON endpoint.

    Exits 1 when intake refused some records (--errors FILE writes them, with the reasons).
    """
    console = Console(stderr=True)
    lines = read_lines(file)
    records = [line for _, line in lines]
    sent = asyncio.run(submit_file(local_settings(), console, records, key, wait=wait))
    console.print(sent.summary(), soft_wrap=True)
    if errors is not None:
        write_refused(errors, sent, lines)
    if sent.refused:
        where = f"written to {errors}" if errors else "--errors FILE writes them with the reasons"
        console.print(
            f"{len(sent.refused):,} records refused: {where}", markup=False, soft_wrap=True
        )
        raise typer.Exit(Status.REFUSED)
