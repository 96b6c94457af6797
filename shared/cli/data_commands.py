"""The ``landsync generate`` and ``landsync registry load`` commands: reference and test data."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from shared.cli.config import local_settings
from shared.db.connection import connected
from shared.reference.parse import Kind
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.reference.parse import ParseResult
    from shared.reference.store import Loaded

_err = Console(stderr=True)
GenerateFormat = Literal["jsonl", "xlsx"]
_BIG_FILE = 20_000_000  # bytes: below this a progress bar would only flicker
# The rates that are not a share of all records (see shared/generate/rates.py).
_RATE_HELP = {
    "id_prefix_mismatch": "share of residents whose ID has wrong year or sex digits (a warning)",
    "duplicate": "identical re-submissions, per accepted original",
    "duplicate_conflict": "conflicting re-submissions, per accepted original",
    "reissue": "phase 2: parcels whose certificate is re-issued, per accepted parcel",
    "correction": "records.corrections.jsonl: rejected records the commune fixes, per rejected",
}


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=_err,
        transient=True,
        disable=not _err.is_terminal,  # piped or captured, it would leave empty lines
    )


def registry_load(
    kind: Annotated[Kind, typer.Argument(help="which reference data", show_default=False)],
    file: Annotated[Path, typer.Argument(help="the CSV file (CONTRACT §8)", exists=True)],
) -> None:
    """Bulk-load reference data: new rows inserted, changed rows updated, others left alone."""
    from shared.reference.parse import ParseResult, UnusableFileError  # noqa: PLC0415

    started = time.perf_counter()
    result = ParseResult()
    with _progress() as progress:
        if file.stat().st_size < _BIG_FILE:
            progress.stop()
        reading = progress.add_task(f"loading {file.name}", total=file.stat().st_size)
        try:
            loaded = asyncio.run(
                _load(
                    local_settings(),
                    kind,
                    file,
                    result,
                    lambda done: progress.update(reading, completed=done),
                )
            )
        except UnusableFileError as exc:
            progress.stop()
            _err.print(f"[red]{file} is unusable:[/] {exc}")
            raise typer.Exit(2) from exc
    elapsed = time.perf_counter() - started
    rows = result.rows
    how = "first load" if loaded.first_load else "upsert"
    _err.print(
        f"{kind}: {result.lines:,} lines, {rows:,} rows loaded ({loaded.written:,} inserted or"
        f" changed, {how}) in {elapsed:.1f} s, {rows / max(elapsed, 1e-9):,.0f} rows/s"
    )
    if result.repeated_keys:
        _err.print(f"{result.repeated_keys:,} lines repeated a key: the last one was kept")
    if result.refused:
        _err.print(f"[yellow]{sum(result.refused.values()):,} lines refused:[/]")
        for reason, count in result.refused.most_common():
            _err.print(f"  {count:>9,}  {reason}", highlight=False)
        examples = ", ".join(f"line {n} ({why})" for n, why in result.examples)
        _err.print(f"  first: {examples}", highlight=False)
    if rows == 0:
        raise typer.Exit(2)


async def _load(
    settings: Settings,
    kind: Kind,
    file: Path,
    result: ParseResult,
    progress: Callable[[int], None],
) -> Loaded:
    from shared.reference import store  # noqa: PLC0415

    # The migration role: a load drops and rebuilds the table's indexes, which only the owner may.
    async with connected(settings.migration_dsn, server_settings=store.SESSION_SETTINGS) as conn:
        loaded = await store.load_file(conn, kind, file, result, progress)
        await store.tidy(conn, kind)
    return loaded


def generate(
    communes: int,
    plots: int,
    seed: int,
    out: Path,
    output_format: str = "jsonl",
    **rates: float,
) -> None:
    """A synthetic province: registry, certificates, Form 01 records and their expected outcomes."""
    from shared.generate.province import generate as build  # noqa: PLC0415
    from shared.generate.rates import Rates  # noqa: PLC0415

    if communes < 1 or plots < 1:
        raise typer.BadParameter("--communes and --plots must be at least 1")
    if bad := [k for k, v in rates.items() if not 0 <= v <= 1]:
        raise typer.BadParameter(f"rates are shares between 0 and 1: {', '.join(bad)}")
    started = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task("generating plots", total=plots)
        summary = build(
            out,
            communes_count=communes,
            plots=plots,
            seed=seed,
            rates=Rates(**rates),
            progress=lambda n: progress.advance(task, n),
        )
    elapsed = time.perf_counter() - started
    decided = sum(v for k, v in summary.outcomes.items() if k != "duplicate")
    accepted = summary.outcomes.get("accepted", 0)
    _err.print(
        f"{summary.residents:,} residents, {summary.certificates:,} certificate rows,"
        f" {summary.records:,} records ({summary.phase2_records:,} in phase 2,"
        f" {summary.corrections:,} corrections) in {elapsed:.1f} s"
        f" → {out}/"
    )
    outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(summary.outcomes.items()))
    _err.print(f"expected: {outcomes}; accepted ÷ decided {accepted / max(decided, 1):.1%}")
    if output_format == "xlsx":
        from shared.form01.province import write_province  # noqa: PLC0415

        written = write_province(out)
        _err.print(
            f"{written['workbooks']:,} Form 01 workbooks and {written['structure_errors']} with"
            f" structure errors → {out}/form01/ (docs/form01.md)"
        )


def _generate_signature() -> inspect.Signature:
    """``generate``'s options: the fixed ones plus one ``--rate-…`` option per error type."""
    from shared.generate.rates import Rates  # noqa: PLC0415

    def option(
        name: str,
        kind: Any,  # noqa: ANN401 - a type or typer's annotation
        default: Any,  # noqa: ANN401 - typer's option value
        help_text: str,
        *flags: str,
    ) -> inspect.Parameter:
        return inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=default,
            annotation=Annotated[kind, typer.Option(*flags, help=help_text)],
        )

    fixed = [
        option("communes", int, 1, "how many of the province's 99 communes"),
        option("plots", int, 5_000, "plots in all (the province has 684,245)"),
        option("seed", int, 1, "the same seed gives the same files"),
        option("out", Path, Path("province"), "output directory"),
        option("output_format", GenerateFormat, "jsonl", "xlsx: Form 01 workbooks too", "--format"),
    ]
    per_error = [
        option(f"rate_{f.name}", float, f.default, _RATE_HELP.get(f.name, "share of records"))
        for f in fields(Rates)
    ]
    return inspect.Signature([*fixed, *per_error])


def _generate_command(**options: Any) -> None:  # noqa: ANN401 - typer's option values
    rates = {k.removeprefix("rate_"): v for k, v in options.items() if k.startswith("rate_")}
    generate(
        options["communes"],
        options["plots"],
        options["seed"],
        options["out"],
        options["output_format"],
        **rates,
    )


def register(app: typer.Typer) -> None:
    """Add ``generate`` and ``registry load`` to the ``landsync`` command."""
    signature = _generate_signature()
    _generate_command.__signature__ = signature  # type: ignore[attr-defined]
    _generate_command.__annotations__ = {
        p.name: p.annotation for p in signature.parameters.values()
    }
    _generate_command.__doc__ = generate.__doc__
    app.command("generate")(_generate_command)
    registry = typer.Typer(help="Reference data: the population registry and certificates.")
    registry.command("load")(registry_load)
    app.add_typer(registry, name="registry", no_args_is_help=True)
