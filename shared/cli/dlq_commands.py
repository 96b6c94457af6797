"""The ``landsync dlq list|show|replay`` commands (CONTRACT §5): the dead letters in Kafka."""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from collections import Counter
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shared.cli.config import local_settings
from shared.cli.options import AsJson
from shared.cli.tables import add_id_column
from shared.db.connection import connected
from shared.dlq import model
from shared.dlq.model import BadFilterError, Filter, UnknownQueueError
from shared.logging import configure_logging
from shared.settings import Settings
from shared.topics import DlqQueue

if TYPE_CHECKING:  # imported when run only: Kafka's client is loaded when it is needed
    from shared.dlq.replay import ReplayResult
    from shared.dlq.service import Listing

dlq_app = typer.Typer(
    help="Dead letters: list them, show one, replay them once the cause is fixed.",
    no_args_is_help=True,
)
_err = Console(stderr=True)

Queue = Annotated[DlqQueue, typer.Argument(help="the dead-letter queue", show_default=False)]
Commune = Annotated[str | None, typer.Option(help="only this commune code")]
Reason = Annotated[str | None, typer.Option(help="only dead letters carrying this reason code")]
Since = Annotated[
    str | None, typer.Option(help="dead-lettered since: an ISO date or time, or an age: 2h, 7d")
]
Reveal = Annotated[bool, typer.Option("--reveal", help="show names and personal IDs unmasked")]


def _filter(queue: str, **given: Any) -> Filter:  # noqa: ANN401 - typer's option values
    try:
        model.queue_topic(local_settings().topics, queue)
        return model.parse_filter(**given)
    except (UnknownQueueError, BadFilterError) as exc:
        raise typer.BadParameter(str(exc)) from None


@dlq_app.command("list")
def list_command(  # noqa: PLR0917 - typer passes each option by name
    queue: Queue,
    commune: Commune = None,
    reason: Reason = None,
    since: Since = None,
    limit: Annotated[int, typer.Option(help="at most this many")] = 50,
    include_replayed: Annotated[
        bool, typer.Option("--include-replayed", help="also those replayed already")
    ] = False,
    reveal: Reveal = False,
    as_json: AsJson = False,
) -> None:
    """The queue's dead letters, oldest first; personal IDs and names masked unless --reveal."""
    wanted = _filter(
        queue,
        commune=commune,
        reason=reason,
        since=since,
        limit=limit,
        include_replayed=include_replayed,
    )
    listing = asyncio.run(_list(local_settings(), queue, wanted, reveal=reveal))
    body = listing.as_json(reveal=reveal)
    if as_json:
        typer.echo(json.dumps(body, ensure_ascii=False))
        return
    Console(width=max(Console().width, 130)).print(dead_letters_table(body))
    _err.print(f"{body['count']:,} shown from {body['topic']}")


async def _list(settings: Settings, queue: str, wanted: Filter, *, reveal: bool) -> Listing:
    from shared.dlq import service  # noqa: PLC0415 - Kafka's client only when it is needed

    async with connected(settings.dsn) as conn:
        listing = await service.list_dead_letters(settings, conn, queue, wanted)
        if reveal:
            await service.audit_reveal(conn, listing, wanted, actor=_actor())
        return listing


def _actor() -> str:
    """Who runs the command, as the audit tables name them."""
    return f"cli:{getpass.getuser()}"


def dead_letters_table(body: dict[str, Any]) -> Table:
    """The dead letters for the terminal; record ids whole, never wrapped."""
    table = Table(title=f"Dead letters — {body['queue']}", title_justify="left")
    add_id_column(table, "record id", (d["record_id"] or "—" for d in body["dead_letters"]))
    for column in ("commune", "reasons", "replays", "dead-lettered at", "detail"):
        table.add_column(column, overflow="fold")
    for d in body["dead_letters"]:
        table.add_row(
            d["record_id"] or "—",
            d["commune_code"] or "—",
            ", ".join(d["reasons"]),
            f"{d['replay_count']}" + (" (replayed)" if d["replayed"] else ""),
            d["dead_lettered_at"][:19].replace("T", " "),
            d["detail"][:120],
        )
    return table


@dlq_app.command("show")
def show_command(
    queue: Queue,
    record_id: Annotated[str, typer.Argument(help="the record's id")],
    reveal: Reveal = False,
) -> None:
    """Every dead letter of one record in the queue, with its headers and value, as JSON."""
    wanted = _filter(queue, record_id=record_id, include_replayed=True)
    listing = asyncio.run(_list(local_settings(), queue, wanted, reveal=reveal))
    body = listing.as_json(reveal=reveal)
    if not body["dead_letters"]:
        _err.print(f"[yellow]no dead letter of {record_id} in {queue}[/]")
        raise typer.Exit(1)
    typer.echo(json.dumps({"record_id": record_id, **body}, ensure_ascii=False, indent=2))


@dlq_app.command("replay")
def replay_command(  # noqa: PLR0917 - typer passes each option by name
    queue: Queue,
    commune: Commune = None,
    reason: Reason = None,
    since: Since = None,
    record_id: Annotated[str | None, typer.Option(help="only this record's dead letters")] = None,
    limit: Annotated[int | None, typer.Option(help="replay at most this many")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count what would be replayed; publish nothing")
    ] = False,
    everything: Annotated[
        bool, typer.Option("--all", help="replay the whole queue (no filter)")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="replay without asking")] = False,
    as_json: AsJson = False,
) -> None:
    """Publish the matching dead letters again, once each, with dlq.replay.count one higher.

    Shows what it would replay and asks first, unless --yes or --dry-run.
    """
    wanted = _filter(
        queue, commune=commune, reason=reason, since=since, record_id=record_id, limit=limit
    )
    if not wanted.may_replay(everything=everything, dry_run=dry_run):
        _err.print(
            "[red]name what to replay (--commune, --reason, --since or --record-id),"
            " or say --all to replay the whole queue[/]"
        )
        raise typer.Exit(2)
    settings = local_settings()
    if not (yes or dry_run):
        _confirm(queue, asyncio.run(_list(settings, queue, wanted, reveal=False)), limit)
    outcome = asyncio.run(_replay(settings, queue, wanted, dry_run=dry_run))
    if as_json:
        typer.echo(json.dumps(outcome.as_json()))
        return
    verb = "would be replayed" if dry_run else "replayed"
    _err.print(
        f"{queue}: [green]{outcome.replayed:,} {verb}[/], {outcome.refused:,} refused"
        f" (replay limit or nowhere to go), {outcome.skipped:,} skipped (replayed before)"
    )


def _confirm(queue: str, listing: Listing, limit: int | None) -> None:
    """Say how many dead letters, of which reasons and communes, and ask before replaying them."""
    letters = listing.letters[:limit] if limit else listing.letters
    if not letters:
        _err.print(f"{queue}: nothing to replay")
        raise typer.Exit(0)
    reasons = Counter(r for d in letters for r in d.reasons)
    communes = Counter(d.commune_code or "—" for d in letters)
    _err.print(f"{queue}: {len(letters):,} dead letters would be replayed")
    _err.print("  by reason:  " + ", ".join(f"{r} {n:,}" for r, n in reasons.most_common()))
    _err.print("  by commune: " + ", ".join(f"{c} {n:,}" for c, n in communes.most_common(10)))
    if not sys.stdin.isatty():
        _err.print("[red]not replayed: confirm with --yes when there is no terminal to ask[/]")
        raise typer.Exit(2)
    if not typer.confirm("Replay them?", err=True):
        raise typer.Exit(1)


async def _replay(settings: Settings, queue: str, wanted: Filter, *, dry_run: bool) -> ReplayResult:
    from shared.dlq.replay import replay  # noqa: PLC0415
    from shared.kafka.producer import Producer  # noqa: PLC0415

    # The audit row is the record of a CLI replay; stdout stays free for --json.
    configure_logging("cli", "WARNING", stream=sys.stderr)
    producer = Producer(settings, client_id="landsync-cli-dlq")
    async with connected(settings.dsn) as conn:
        try:
            if not dry_run:
                await producer.start()
            return await replay(
                settings,
                conn,
                producer,
                queue,
                wanted,
                actor=_actor(),
                dry_run=dry_run,
            )
        finally:
            await producer.stop()


def register(app: typer.Typer) -> None:
    """Add ``dlq`` to the ``landsync`` command."""
    app.add_typer(dlq_app, name="dlq")
