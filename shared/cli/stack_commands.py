"""The ``landsync up``, ``down`` and ``status`` commands."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shared.cli.config import local_settings
from shared.settings import Settings
from shared.stack import Stack

_err = Console(stderr=True)


def _stack(brokers: int | None = None) -> Stack:
    settings = local_settings() if brokers is None else Settings(kafka_brokers=brokers)
    return Stack(settings, console=_err)


def _address(name: str, entry: dict[str, Any]) -> str:
    return str(entry.get("url") or entry.get("bootstrap") or entry.get("dsn") or name)


def _table(status: dict[str, Any], watched: dict[str, Any]) -> Table:
    table = Table(title=f"LandSync — {status['state_dir']}", title_justify="left")
    table.add_column("component")
    table.add_column("address", overflow="fold")
    table.add_column("state")
    table.add_column("pid", justify="right")
    table.add_column("restarts", justify="right")
    table.add_column("last exit")
    records = watched.get("components", {})
    for name, entry in status["services"].items():
        record = records.get(name, {})
        state = "[green]running[/]" if entry["running"] else "[dim]stopped[/]"
        if record.get("gave_up"):
            state = "[red]given up[/]"  # a crash loop: the supervisor stopped restarting it
        pid = entry.get("pid")
        table.add_row(
            name,
            _address(name, entry),
            state,
            "" if pid is None else str(pid),
            str(record.get("restarts", "")),
            record.get("last_exit") or "",
        )
    table.caption = (
        f"supervisor: running (pid {watched['pid']})"
        if watched.get("running")
        else "supervisor: not running (nothing is restarted)"
    )
    return table


def up(
    supervise: Annotated[
        bool,
        typer.Option(
            "--supervise/--no-supervise",
            help="Restart a component that dies (with backoff; gives up on a crash loop).",
        ),
    ] = True,
    brokers: Annotated[
        int | None,
        typer.Option(
            "--brokers",
            min=1,
            max=9,
            help="Kafka nodes: 3 is a cluster that survives one node's death (replication"
            " factor 3, min.insync.replicas 2). Default: LANDSYNC_KAFKA_BROKERS, else what the"
            " state directory was formatted with, else 1.",
        ),
    ] = None,
) -> None:
    """Provision what is missing and start the whole local system in the background."""
    # A StackError is main()'s to report, with the log's last lines.
    status = _stack(brokers).up(supervise=supervise)
    console = Console()
    console.print("\n[bold]LandSync is up[/]")
    for name, entry in status["services"].items():
        if entry["running"]:
            console.print(f"  {name:<12} {_address(name, entry)}", highlight=False)
    console.print(f"  logs         {status['state_dir']}/logs/", highlight=False)


def down() -> None:
    """Stop exactly what ``landsync up`` started."""
    _stack().down()


def status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object for scripts.")] = False,
) -> None:
    """Show what is running, where, with which pid."""
    stack = _stack()
    result = stack.status()
    if as_json:
        typer.echo(json.dumps(result))  # CONTRACT §5's object, exactly
    else:
        Console().print(_table(result, stack.supervision()))


def register(app: typer.Typer) -> None:
    """Add up, down and status to the ``landsync`` command."""
    app.command("up")(up)
    app.command("down")(down)
    app.command("status")(status)
