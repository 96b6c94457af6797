"""``landsync records list|export`` (CONTRACT §5): the worklist of §2, read from the ledger."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from shared import worklist
from shared.cli.config import local_settings
from shared.cli.tables import add_id_column, wide_console
from shared.db.pool import connect
from shared.settings import Settings
from shared.states import Status

records_app = typer.Typer(
    help="The correction worklist: what each commune has to fix, and how.", no_args_is_help=True
)
_err = Console(stderr=True)
Format = Literal["table", "csv", "jsonl"]
_CSV_FIELDS = (
    "record_id", "submission_id", "commune_code", "parcel_key", "certificate_serial", "status",
    "reason_codes", "reasons_vi", "reasons_en", "what_to_do_vi", "what_to_do_en", "received_at",
    "decided_at",
)  # fmt: skip

Commune = Annotated[str, typer.Option(help="the commune code")]
StatusOption = Annotated[Status | None, typer.Option("--status", help="only records in this state")]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="only this reason code")]
Since = Annotated[str | None, typer.Option(help="decided since (ISO date or time)")]
AllCases = Annotated[
    bool, typer.Option("--all", help="closed cases too (by default only open ones)")
]


def _query(commune: str, status: Status | None, reason: str | None, since: str | None, *,
           every: bool, limit: int) -> worklist.Query:  # fmt: skip
    try:
        query = worklist.Query(
            [commune],
            status,
            reason,
            None if since is None else datetime.fromisoformat(since),
            not every,
            min(limit, worklist.MAX_LIMIT),
        )
        worklist.check(query)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return query


def _joined(item: dict[str, Any], key: str) -> str:
    return "; ".join(
        f"{r['code']}: {r[key]}"
        + (f" ({r['detail']})" if key.startswith("text") and r["detail"] else "")
        for r in item["reasons"]
    )


def _csv_row(item: dict[str, Any]) -> dict[str, Any]:
    return {
        **{k: item[k] for k in _CSV_FIELDS if k in item},
        "reason_codes": " ".join(r["code"] for r in item["reasons"]),
        "reasons_vi": _joined(item, "text_vi"),
        "reasons_en": _joined(item, "text_en"),
        "what_to_do_vi": _joined(item, "action_vi"),
        "what_to_do_en": _joined(item, "action_en"),
    }


def records_table(items: list[dict[str, Any]]) -> Table:
    """Worklist rows for the terminal: the record, why, in both languages, and what to do."""
    out = Table(title="Worklist", title_justify="left", show_lines=True)
    add_id_column(out, "submission", (i["submission_id"] for i in items))
    add_id_column(out, "parcel", (i["parcel_key"] for i in items))
    for column in ("serial", "status", "why", "what to do"):
        out.add_column(column)
    for item in items:
        out.add_row(
            item["submission_id"],
            item["parcel_key"],
            item["certificate_serial"] or "—",
            item["status"],
            "\n".join(
                f"{r['code']}: {r['text_vi']} / {r['text_en']}"
                + (f"\n  {r['detail']}" if r["detail"] else "")
                for r in item["reasons"]
            ),
            "\n".join(f"{r['action_vi']} / {r['action_en']}" for r in item["reasons"]),
        )
    return out


async def _collect(settings: Settings, query: worklist.Query, *, every_page: bool) -> list[Any]:
    conn = await connect(settings.dsn)  # the worklist reads reasons as jsonb values
    try:
        if every_page:
            return [item async for item in worklist.every_item(conn, query)]
        items, _ = await worklist.page(conn, query)
        return items
    finally:
        await conn.close()


def _print(items: list[dict[str, Any]], output: Format) -> None:
    if output == "jsonl":
        for item in items:
            sys.stdout.write(json.dumps(item, ensure_ascii=False) + "\n")
    elif output == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=_CSV_FIELDS)
        writer.writeheader()
        writer.writerows(_csv_row(i) for i in items)
        sys.stdout.write(buffer.getvalue())
    else:
        wide_console(160).print(records_table(items))


def _command(*, every_page: bool, default_format: Format) -> Callable[..., None]:
    def run(  # noqa: PLR0917 - typer passes options by keyword
        commune: Commune,
        status: StatusOption = None,
        reason: ReasonOption = None,
        since: Since = None,
        every: AllCases = False,
        limit: Annotated[int, typer.Option(help="rows (list) or rows a page (export)")] = 100,
        output: Annotated[Format, typer.Option("--format", help="how to print them")] = (
            default_format
        ),
    ) -> None:
        query = _query(commune, status, reason, since, every=every, limit=limit)
        items = asyncio.run(_collect(local_settings(), query, every_page=every_page))
        _print(items, output)
        if output == "table":
            _err.print(f"{len(items):,} records")

    return run


records_app.command("list", help="The first rows of a commune's worklist (open cases).")(
    _command(every_page=False, default_format="table")
)
records_app.command("export", help="A commune's whole worklist, every page (CSV by default).")(
    _command(every_page=True, default_format="csv")
)


def register(app: typer.Typer) -> None:
    """Add ``records`` to the ``landsync`` command."""
    app.add_typer(records_app, name="records")
