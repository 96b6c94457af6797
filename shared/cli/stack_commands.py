"""The ``landsync up``, ``down`` and ``status`` commands."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shared.settings import Settings
from shared.stack import Stack, StackError

_err = Console(stderr=True)


def _stack() -> Stack:
    return Stack(Settings(), console=_err)


def _fail(command: str, exc: StackError) -> None:
    _err.print(f"[red]landsync {command} failed:[/]")
    # Not markup: the message carries log lines whose [brackets] rich would try to parse.
    _err.print(str(exc), markup=False, highlight=False)


def _address(name: str, entry: dict[str, Any]) -> str:
    return str(entry.get("url") or entry.get("bootstrap") or entry.get("dsn") or name)


def _table(status: dict[str, Any]) -> Table:
    table = Table(title=f"LandSync — {status['state_dir']}", title_justify="left")
    table.add_column("component")
    table.add_column("address", overflow="fold")
    table.add_column("state")
    table.add_column("pid", justify="right")
    for name, entry in status["services"].items():
        state = "[green]running[/]" if entry["running"] else "[dim]stopped[/]"
        pid = entry.get("pid")
        table.add_row(name, _address(name, entry), state, "" if pid is None else str(pid))
    return table


def up() -> None:
    """Provision what is missing and start the whole local system in the background."""
    try:
        status = _stack().up()
    except StackError as exc:
        _fail("up", exc)
        raise typer.Exit(1) from exc
    console = Console()
    console.print("\n[bold]LandSync is up[/]")
    for name, entry in status["services"].items():
        if entry["running"]:
            console.print(f"  {name:<12} {_address(name, entry)}", highlight=False)
    console.print(f"  logs         {status['state_dir']}/logs/", highlight=False)


def down() -> None:
    """Stop exactly what ``landsync up`` started."""
    try:
        _stack().down()
    except StackError as exc:
        _fail("down", exc)
        raise typer.Exit(1) from exc


def status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object for scripts.")] = False,
) -> None:
    """Show what is running, where, with which pid."""
    result = _stack().status()
    if as_json:
        typer.echo(json.dumps(result))
    else:
        Console().print(_table(result))


def register(app: typer.Typer) -> None:
    """Add up, down and status to the ``landsync`` command."""
    app.command("up")(up)
    app.command("down")(down)
    app.command("status")(status)
