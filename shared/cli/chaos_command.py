"""``landsync chaos``: records through a stack of its own under seeded faults, then the checks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from shared.cli.failures import Status
from shared.cli.tables import wide_console

if TYPE_CHECKING:
    from shared.chaos.run import Plan, Result

_err = Console(stderr=True)


def markdown(result: Result, plan: Plan) -> str:
    """The table as Markdown, with the command and the date, ready for the README."""
    lines = [
        (
            f"`landsync chaos --records {plan.records} --seed {plan.seed}"
            f" --duration {plan.duration:.0f}`, {datetime.now(UTC):%Y-%m-%d}:"
            f" {result.acknowledged:,} records answered 202, {len(result.faults)} faults,"
            f" {result.seconds:.0f} s in all"
        ),
        "",
        "| check | figure | result |",
        "|---|---|---|",
    ]
    lines += [f"| {r.check} | {r.figure} | {'pass' if r.passed else 'FAIL'} |" for r in result.rows]
    lines += ["", *(f"{note}." for note in result.notes)]
    return "\n".join(lines)


def table(result: Result) -> Table:
    """The checks as a rich table."""
    out = Table(title=f"Chaos: {result.acknowledged:,} records, {len(result.faults)} faults")
    for column in ("check", "figure", "result"):
        out.add_column(column)
    for r in result.rows:
        out.add_row(r.check, r.figure, "[green]pass[/]" if r.passed else "[red]FAIL[/]")
    return out


def chaos_command(  # noqa: PLR0917 - typer passes each option by name
    records: Annotated[int, typer.Option(help="generated records to send")] = 20_000,
    seed: Annotated[int, typer.Option(help="seed of the records and of the fault schedule")] = 1,
    duration: Annotated[
        float, typer.Option(help="seconds: records sent in the first 85 %, faults start by 80 %")
    ] = 120.0,
    faults: Annotated[
        int | None, typer.Option(help="how many faults (default: every kind once)")
    ] = None,
    drain_timeout: Annotated[
        float, typer.Option(help="seconds to wait after the faults for every record to be final")
    ] = 600.0,
    port_base: Annotated[int, typer.Option(help="the chaos stack's ports start here")] = 27_000,
    state_dir: Annotated[
        Path | None, typer.Option(help="the chaos stack's state dir (default .landsync-chaos)")
    ] = None,
    as_markdown: Annotated[
        bool, typer.Option("--markdown", help="print the table as Markdown (for the README)")
    ] = False,
) -> None:
    """Chaos: kill and pause every component while records flow, then check nothing was lost."""
    from shared.chaos.run import Plan, run  # noqa: PLC0415 - keeps `landsync --help` fast

    plan = Plan(records, seed, duration, faults, drain_timeout, port_base,
                state_dir or Plan.state_dir)  # fmt: skip
    result = run(plan, _err)
    for line in result.log:
        _err.print(f"  {line}", markup=False, highlight=False)
    for r in result.rows:
        if not r.passed and r.examples:
            _err.print(f"{r.check}: e.g. {', '.join(r.examples)}", markup=False)
    if as_markdown:
        typer.echo(markdown(result, plan))
    else:
        wide_console(100).print(table(result))
    for note in result.notes:
        _err.print(note, markup=False, highlight=False)
    if not result.passed:
        raise typer.Exit(Status.SERVICE)  # the stack failed a guarantee


def register(app: typer.Typer) -> None:
    """Add ``landsync chaos`` to the app."""
    app.command("chaos")(chaos_command)
