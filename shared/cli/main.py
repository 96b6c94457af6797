"""The ``landsync`` command: one entry point for the stack, keys, demo, report and benchmarks."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from typer._click.exceptions import ClickException, NoArgsIsHelpError

from shared.cli import (
    asyncapi_command,
    bench_commands,
    campaign_commands,
    chaos_command,
    data_commands,
    dlq_commands,
    form01_commands,
    init_commands,
    key_commands,
    records_commands,
    sim_commands,
    stack_commands,
)
from shared.cli.config import local_settings, on_database
from shared.cli.evaluate_command import evaluate_command
from shared.cli.failures import EPILOG, Status
from shared.cli.failures import report as failure_report
from shared.cli.options import day
from shared.cli.submit import submit_command
from shared.cli.tables import wide_console
from shared.daily import daily as daily_figures
from shared.report import report_bundle, today_in
from shared.settings import unknown_variables

app = typer.Typer(
    name="landsync",
    help="LandSync: clean and synchronise a province's land records.",
    epilog=EPILOG,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold keys and personal data
)
bench_app = typer.Typer(help="Benchmarks against the running local stack.", no_args_is_help=True)
app.add_typer(key_commands.keys_app, name="keys")
app.add_typer(bench_app, name="bench")
bench_commands.register(bench_app)
stack_commands.register(app)
data_commands.register(app)
sim_commands.register(app)
dlq_commands.register(app)
init_commands.register(app)
form01_commands.register(app)
bench_app.command("import")(form01_commands.bench_import)
campaign_commands.register(app)
chaos_command.register(app)
records_commands.register(app)
asyncapi_command.register(app)
app.command("evaluate")(evaluate_command)
app.command("submit")(submit_command)

# Wide enough for the report table even when output is piped (rich falls back to 80 columns).
_err = Console(stderr=True, width=max(Console(stderr=True).width, 130))
_debug = {"on": False}  # set by --debug, read by main() once the command has failed


def _show_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"landsync {installed_version('landsync')}")
        raise typer.Exit


@app.callback()
def _options(
    debug: Annotated[
        bool, typer.Option("--debug", help="on a failure, print the traceback too")
    ] = False,
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """LandSync: clean and synchronise a province's land records."""
    _debug["on"] = debug
    # Libraries' own warnings (aiokafka's "Unable connect to …") would be lines beside the one
    # a failure prints; --debug shows them.
    if debug:
        logging.basicConfig(level=logging.WARNING)
    else:
        logging.getLogger().addHandler(logging.NullHandler())
    for name, close in unknown_variables(os.environ).items():
        hint = f" (did you mean {close}?)" if close else ""
        _err.print(f"warning: {name} is no LandSync setting; it is ignored{hint}", markup=False)


@app.command()
def demo(
    communes: Annotated[int, typer.Option(help="how many communes to simulate")] = 1,
    plots: Annotated[int, typer.Option(help="how many plots (Form 01 records)")] = 3000,
    seed: Annotated[int, typer.Option(help="seed of the synthetic data")] = 1,
    from_excel: Annotated[
        bool, typer.Option("--from-excel", help="send the first pass as Form 01 workbooks")
    ] = False,
) -> None:
    """Stack up, a synthetic commune submitted through intake, the campaign report printed."""
    from shared.cli import demo as demo_job  # noqa: PLC0415 - keeps `landsync --help` fast

    demo_job.run(
        local_settings(), _err, communes=communes, plots=plots, seed=seed, from_excel=from_excel
    )


@app.command()
def report(  # noqa: PLR0917 - one option per CONTRACT §5 flag
    output: Annotated[
        Literal["table", "csv", "json", "html"], typer.Option("--format", help="how to print it")
    ] = "table",
    screenshot: Annotated[
        Path | None, typer.Option(help="write a PNG of the HTML page here (headless Chromium)")
    ] = None,
    daily: Annotated[
        bool, typer.Option("--daily", help="cases received, cleaned and synced per day")
    ] = False,
    commune: Annotated[str | None, typer.Option(help="--daily: one commune's days")] = None,
    start: Annotated[str | None, typer.Option("--from", help="--daily: first day")] = None,
    end: Annotated[str | None, typer.Option("--to", help="--daily: last day")] = None,
) -> None:
    """The campaign report: per commune and for the province (cases, targets, submissions)."""
    from shared import report_formats, report_html  # noqa: PLC0415
    from shared.cli import report_view  # noqa: PLC0415

    settings = local_settings()
    zone = settings.campaign_timezone
    if daily:
        first = None if start is None else day(start, "--from")
        last = None if end is None else day(end, "--to")
        days = on_database(
            lambda conn: daily_figures(
                conn, timezone=zone, today=today_in(zone), commune=commune, start=first, end=last
            ),
            settings,
        )
        if output == "csv":
            typer.echo(report_formats.daily_csv(days), nl=False)
        elif output == "json":
            typer.echo(report_formats.daily_json(days))
        else:
            wide_console(100).print(report_view.daily_table(days))
        return
    with_days = output == "html" or bool(screenshot)
    bundle = on_database(lambda conn: report_bundle(conn, zone, with_days=with_days), settings)
    if screenshot is not None:
        from shared.browser import BrowserError, render_png  # noqa: PLC0415

        try:
            screenshot.write_bytes(asyncio.run(render_png(report_html.render(bundle))))
        except BrowserError as e:
            _err.print(f"[red]No screenshot:[/] {e}", markup=True)
            raise typer.Exit(2) from e
        _err.print(f"Wrote {screenshot}")
    elif output == "html":
        typer.echo(report_html.render(bundle), nl=False)
    elif output == "csv":
        typer.echo(report_formats.as_csv(bundle.rows), nl=False)
    elif output == "json":
        typer.echo(report_formats.as_json(bundle.rows))
    else:
        console = wide_console(130)
        console.print(report_view.table(bundle.rows))
        console.print(report_view.reasons_table(bundle.rows))


def main() -> None:
    """The ``landsync`` command: every failure one line on stderr and an exit status (EPILOG)."""
    try:
        code = app(prog_name="landsync", standalone_mode=False)
    except NoArgsIsHelpError as exc:
        exc.show()
        code = Status.USAGE
    except ClickException as exc:
        context = getattr(exc, "ctx", None)
        where = context.command_path if context is not None else "landsync"
        _say(f"{where}: {exc.format_message()} (see {where} --help)")
        code = exc.exit_code
    except typer.Abort:
        _say("Aborted.")
        code = Status.REFUSED
    except Exception as exc:  # noqa: BLE001 - the one place a failure becomes a line and a status
        line, code = failure_report(exc, debug=_debug["on"])
        _say(line)
    sys.exit(code or 0)


def _say(line: str) -> None:
    # Not markup, no wrapping: messages carry [brackets] and paths that must stay whole.
    _err.print(line, markup=False, highlight=False, soft_wrap=True)


if __name__ == "__main__":
    main()
