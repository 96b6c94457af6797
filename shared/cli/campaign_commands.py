"""``landsync campaign targets load`` and ``landsync campaign window`` (CONTRACT §6)."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from shared.campaign import Targets, UnusableTargetsError, load_targets, parse_targets, set_window
from shared.cli.config import local_settings
from shared.db.connection import connected
from shared.settings import Settings

campaign_app = typer.Typer(help="The campaign's targets and window.", no_args_is_help=True)
targets_app = typer.Typer(help="Each commune's target (plots to collect).", no_args_is_help=True)
campaign_app.add_typer(targets_app, name="targets")
_err = Console(stderr=True)
_SHOWN_REFUSALS = 5


@targets_app.command("load")
def targets_load(
    file: Annotated[Path, typer.Argument(help="CSV: commune_code,target_plots", exists=True)],
) -> None:
    """Load targets: new communes inserted, changed ones updated, the others left alone."""
    try:
        targets = parse_targets(file.read_text(encoding="utf-8-sig"))
    except UnusableTargetsError as exc:
        _err.print(f"[red]{file} is unusable:[/] {exc}")
        raise typer.Exit(2) from exc
    for line, why in targets.refused[:_SHOWN_REFUSALS]:
        _err.print(f"line {line}: {why}")
    if not targets.rows:
        _err.print(f"[red]No good line in {file}[/]")
        raise typer.Exit(2)
    written = asyncio.run(_load(local_settings(), targets))
    _err.print(f"Loaded {written:,} targets, refused {len(targets.refused):,} lines.")


async def _load(settings: Settings, targets: Targets) -> int:
    async with connected(settings.dsn) as conn:
        return await load_targets(conn, targets)


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise typer.BadParameter("a date, YYYY-MM-DD", param_hint=option) from e


@campaign_app.command("window")
def window(
    start: Annotated[str, typer.Option("--start", help="first day, YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--end", help="last day (the deadline), YYYY-MM-DD")],
) -> None:
    """Set the campaign window: the report's days left and the burn-up chart's deadline."""
    starts_on, ends_on = _day(start, "--start"), _day(end, "--end")
    if ends_on < starts_on:
        raise typer.BadParameter("the window ends before it starts", param_hint="--end")
    asyncio.run(_window(local_settings(), starts_on, ends_on))
    _err.print(f"Campaign window: {starts_on} to {ends_on}.")


async def _window(settings: Settings, starts_on: date, ends_on: date) -> None:
    async with connected(settings.dsn) as conn:
        await set_window(conn, starts_on, ends_on)


def register(app: typer.Typer) -> None:
    """Add ``campaign`` to the ``landsync`` command."""
    app.add_typer(campaign_app, name="campaign")
