"""``landsync campaign targets load`` and ``landsync campaign window`` (CONTRACT §6)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from shared.campaign import UnusableTargetsError, load_targets, parse_targets, set_window
from shared.cli.config import on_database
from shared.cli.options import day

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
    written = on_database(lambda conn: load_targets(conn, targets))
    _err.print(f"Loaded {written:,} targets, refused {len(targets.refused):,} lines.")


@campaign_app.command("window")
def window(
    start: Annotated[str, typer.Option("--start", help="first day, YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--end", help="last day (the deadline), YYYY-MM-DD")],
) -> None:
    """Set the campaign window: the report's days left and the burn-up chart's deadline."""
    starts_on, ends_on = day(start, "--start"), day(end, "--end")
    if ends_on < starts_on:
        raise typer.BadParameter("the window ends before it starts", param_hint="--end")
    on_database(lambda conn: set_window(conn, starts_on, ends_on))
    _err.print(f"Campaign window: {starts_on} to {ends_on}.")


def register(app: typer.Typer) -> None:
    """Add ``campaign`` to the ``landsync`` command."""
    app.add_typer(campaign_app, name="campaign")
