"""``landsync form01 template`` and ``landsync import``: Form 01 workbooks in and out."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from shared.auth import create_key_at
from shared.cli.config import local_settings
from shared.cli.submit import progress, wait_decided
from shared.db.connection import connected
from shared.form01 import store
from shared.form01.annotate import annotated
from shared.form01.decided import stored_rows, with_decisions
from shared.form01.errors import FormRefused
from shared.form01.limits import Limits
from shared.form01.outcome import REFUSED, Outcomes, outcomes, record_ids_by_row
from shared.form01.reader import read_form
from shared.form01.rows import Parsed
from shared.form01.submit import IntakeError, submit_records
from shared.form01.template import TEMPLATES
from shared.form01.writer import blank_workbook
from shared.settings import Settings

form01_app = typer.Typer(help="Form No. 01 workbooks: the blank template.", no_args_is_help=True)
_SHOWN_ERRORS = 20


@form01_app.command("template")
def template_command(
    version: Annotated[str, typer.Option(help=f"one of {', '.join(TEMPLATES)}")] = "PL3-49",
    out: Annotated[Path | None, typer.Option(help="write here instead of stdout")] = None,
) -> None:
    """Write a blank Form 01 workbook (.xlsx) of the version."""
    template = TEMPLATES.get(version.upper())
    if template is None:
        raise typer.BadParameter(f"one of {', '.join(TEMPLATES)}", param_hint="--version")
    data = blank_workbook(template)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        out.write_bytes(data)
        Console(stderr=True).print(f"Wrote {out} ({template.version})")


def import_command(  # noqa: PLR0917 - typer passes each option by name
    file: Annotated[
        str, typer.Argument(help="a Form 01 .xlsx or .csv; or 'status IMPORT_ID'", metavar="FILE")
    ],
    import_id: Annotated[
        str | None, typer.Argument(help="with 'status': the import id", show_default=False)
    ] = None,
    commune: Annotated[
        str | None, typer.Option(help="refuse rows of any other commune than this one")
    ] = None,
    annotated_out: Annotated[
        Path | None, typer.Option("--annotated", help="write the annotated workbook here")
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="a submitter API key; default: a new local one")
    ] = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="wait for the records' decisions and write them into the annotated workbook",
        ),
    ] = False,
) -> None:
    """Import a Form 01 workbook through intake: exit 0 all in, 1 rows refused, 2 file refused.

    With ``--wait`` the annotated workbook holds each record's decision (accepted, rejected with
    its reasons, dead-lettered) instead of "received": the file the commune corrects.
    ``landsync import status IMPORT_ID [--annotated OUT.xlsx]`` shows an import made through
    ``POST /v1/imports/form01`` with its records' current decisions.
    """
    console = Console(stderr=True)
    settings = local_settings()
    if file == "status":
        _status(settings, console, import_id, annotated_out, key)
        return
    path = Path(file)
    if not path.is_file() or import_id is not None:
        console.print(f"[red]No such file:[/] {file}")
        raise typer.Exit(2)
    file_path = path
    limits = Limits(max_bytes=settings.import_max_bytes, max_rows=settings.import_max_rows)
    try:
        parsed = read_form(file_path, limits)
    except FormRefused as refused:
        console.print(f"[red]File refused ({refused.code}):[/] {refused.message}", soft_wrap=True)
        raise typer.Exit(2) from refused
    if commune is not None:
        _only_commune(parsed, commune)
    try:
        outcome = asyncio.run(_submit(settings, console, parsed, key))
    except IntakeError as exc:
        console.print(f"[red]Intake refused the import:[/] {exc}", soft_wrap=True)
        raise typer.Exit(2) from exc
    written, decided = (
        asyncio.run(_decided(settings, console, parsed, outcome)) if wait else (outcome, None)
    )
    _summary(console, parsed, outcome, decided)
    if annotated_out is not None:
        data = annotated(file_path, parsed.template, parsed.header_row, written, parsed.sheet_name)
        annotated_out.write_bytes(data)
        console.print(f"Wrote the annotated workbook to {annotated_out}")
    some_refused = any(o.status == REFUSED for o in outcome.rows.values())
    raise typer.Exit(1 if some_refused else 0)


def _only_commune(parsed: Parsed, commune: str) -> None:
    from shared.form01.rows import RowError  # noqa: PLC0415

    column = parsed.template.letter(parsed.template.index("commune_code"))
    for group in parsed.groups:
        if group.record is not None and group.commune_code != commune:
            # A new list: a finished group's errors are not appended to.
            refused = RowError(group.rows[0], column, "commune_code", f"not commune {commune}")
            group.errors = [*group.errors, refused]
            group.record = None


async def _submit(
    settings: Settings, console: Console, parsed: Parsed, key: str | None
) -> Outcomes:
    records = [g.record for g in parsed.submitted if g.record is not None]
    if records:
        communes = {g.commune_code or "" for g in parsed.submitted}
        key = (
            key
            or (
                await create_key_at(settings.dsn, "submitter", sorted(communes), "landsync import")
            )[0]
        )
        base = settings.service_url("intake")
        with progress(console) as bar:
            task = bar.add_task("Submitting through intake", total=len(records))
            async with httpx.AsyncClient(base_url=base, timeout=300) as client:
                results, errors = await submit_records(
                    client, key, records, lambda n: bar.advance(task, n)
                )
    else:
        results, errors = [], []
    return outcomes(parsed, results, errors)


async def _decided(
    settings: Settings, console: Console, parsed: Parsed, outcome: Outcomes
) -> tuple[Outcomes, dict[str, int]]:
    """The rows with their records' decisions, once reconcile has made them; records by status.

    Records received before (``duplicate_submission``) are shown with their decisions too.
    """
    record_ids = record_ids_by_row(parsed, outcome.results)
    ids = sorted(set(record_ids.values()))
    if not ids:  # no record taken: nothing to wait for
        return outcome, {}
    await wait_decided(settings, console, ids)
    async with connected(settings.dsn) as conn:
        decisions = await store.decisions(conn, ids)
    counts = Counter(decision["status"] for decision in decisions.values())
    return with_decisions(stored_rows(outcome, record_ids), decisions, parsed.template), counts


#: How the summary names a record's status once decided (CONTRACT §2's statuses).
_DECIDED_LINES = {
    "accepted": "records accepted",
    "synced": "records accepted and synced",
    "rejected": "records rejected (their reasons: --annotated, or landsync records list)",
    "dead_lettered": "records dead-lettered (an operator's case)",
    "duplicate": "records duplicating an accepted one",
    "received": "records still awaiting a decision",
}


def _summary(
    console: Console, parsed: Parsed, outcome: Outcomes, decided: dict[str, int] | None = None
) -> None:
    statuses: dict[str, int] = {}
    for result in outcome.results:
        statuses[result["status"]] = statuses.get(result["status"], 0) + 1
    refused_rows = sum(1 for o in outcome.rows.values() if o.status == REFUSED)
    table = Table(title=f"Form 01 import ({parsed.template.version})")
    table.add_column("what")
    table.add_column("count", justify="right")
    rows: list[tuple[str, Any]] = [
        ("rows", parsed.rows),
        ("records (owner rows grouped)", len(parsed.groups)),
        ("records received", statuses.get("received", 0)),
        ("records already received", statuses.get("duplicate_submission", 0)),
        ("rows refused", refused_rows),
    ]
    for status, what in _DECIDED_LINES.items():
        if decided and decided.get(status):
            rows.append((what, decided[status]))
    for what, count in rows:
        table.add_row(what, f"{count:,}")
    console.print(table)
    if outcome.errors:
        errors = Table(title="Refused cells (first 20)")
        for name in ("row", "column", "field", "reason"):
            errors.add_column(name)
        for e in outcome.errors[:_SHOWN_ERRORS]:
            errors.add_row(str(e.row), e.column or "", e.field or "", e.msg)
        console.print(errors)


def _status(
    settings: Settings, console: Console, import_id: str | None, out: Path | None, key: str | None
) -> None:
    if not import_id:
        console.print("[red]Which import?[/] landsync import status IMPORT_ID")
        raise typer.Exit(2)
    body, workbook = asyncio.run(_fetch_status(settings, import_id, key, want_file=out is not None))
    if body is None:
        console.print(f"[red]No import {import_id} readable with this key.[/]")
        raise typer.Exit(2)
    counts: dict[str, int] = {}
    for item in body["items"]:
        counts[item["status"]] = counts.get(item["status"], 0) + 1
    table = Table(title=f"Import {import_id} ({body['template_version']}, {body['rows']:,} rows)")
    table.add_column("row status")
    table.add_column("rows", justify="right")
    for status, count in sorted(counts.items()):
        table.add_row(status, f"{count:,}")
    console.print(table)
    if out is not None and workbook is not None:
        out.write_bytes(workbook)
        console.print(f"Wrote the annotated workbook to {out}")


async def _fetch_status(
    settings: Settings, import_id: str, key: str | None, *, want_file: bool
) -> tuple[dict[str, Any] | None, bytes | None]:
    key = key or (await create_key_at(settings.dsn, "viewer", [], "landsync import status"))[0]
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=settings.service_url("intake"), timeout=120) as client:
        shown = await client.get(f"/v1/imports/{import_id}", headers=headers)
        if shown.status_code != 200:
            return None, None
        workbook = None
        if want_file:
            got = await client.get(f"/v1/imports/{import_id}/annotated.xlsx", headers=headers)
            got.raise_for_status()
            workbook = got.content
    return shown.json(), workbook


def register(app: typer.Typer) -> None:
    """Add ``form01`` and ``import`` to the ``landsync`` command."""
    app.add_typer(form01_app, name="form01")
    app.command("import")(import_command)


_BENCH_LINES = {
    "calamine_grid": "bare read: python-calamine, whole sheet, rows as lists",
    "calamine_stream": "bare read: python-calamine-plus stream (the import's reader)",
    "import": "import: bad-file checks, structure, rows → records",
    "import_validated": "  + intake's validation of each record (as JSON pays)",
}
_SHARED = "the same rows, strings in a shared table:"


def bench_import(
    rows: Annotated[int, typer.Option(help="owner rows in the workbook")] = 100_000,
    work: Annotated[Path, typer.Option(help="where the workbook is written")] = Path(
        ".landsync-bench-import"
    ),
) -> None:
    """Form 01 rows read into records vs bare reads of the same workbook, in one run.

    Each measure runs three times, alternating, each time in a fresh process; the best time counts,
    and the peak RSS is that process's. The stream and the import are timed again on the same
    rows saved with a shared-string table, as Excel saves them. The ledger write is not timed
    here: it is intake's, the same for JSON records (``landsync bench intake``).
    """
    import json  # noqa: PLC0415

    from shared.bench.form01 import run  # noqa: PLC0415

    result = run(rows, work)
    table = Table(
        title=f"bench import: {rows:,} rows, {result['records']:,} records, "
        f"a {result['file_mb']} MB workbook; an idle process holds "
        f"{result['idle_process_rss_mb']:.0f} MB"
    )
    table.add_column("measure")
    table.add_column("rows/s", justify="right")
    table.add_column("÷ calamine grid read", justify="right")
    table.add_column("÷ streamed read", justify="right")
    table.add_column("CPU s", justify="right")
    table.add_column("peak RSS MB", justify="right")

    def line(what: str, key: str, grid: float | None, stream: float) -> None:
        shown = "" if grid is None else f"{grid:.2f}"
        rate, peak = result["rows_per_s"][key], result["peak_rss_mb"][key]
        cpu = result["cpu_seconds"][key]
        table.add_row(what, f"{rate:,}", shown, f"{stream:.2f}", f"{cpu:.2f}", f"{peak:,.0f}")

    for name, what in _BENCH_LINES.items():
        line(what, name, result["ratio_to_calamine_grid"][name],
             result["ratio_to_calamine_stream"][name])  # fmt: skip
    table.add_section()  # the shared-string workbook, against its own streamed read
    line(f"{_SHARED} stream", "shared_strings_calamine_stream", None, 1.0)
    line(f"{_SHARED} import", "shared_strings_import", None,
         result["shared_strings_ratio_to_its_stream"])  # fmt: skip
    Console(stderr=True).print(table)
    typer.echo(json.dumps(result))
