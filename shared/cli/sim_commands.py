"""``landsync sim national-db``: the national database simulator in the foreground."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from shared.cli.config import local_settings
from shared.settings import PROJECT_ROOT
from shared.stack.services import SERVICES, child_env

sim_app = typer.Typer(help="Simulators of the systems LandSync talks to.", no_args_is_help=True)


@sim_app.command("national-db")
def national_db(
    port: Annotated[
        int | None, typer.Option(help="port (default LANDSYNC_NATIONAL_DB_PORT)")
    ] = None,
    data_file: Annotated[
        Path | None,
        typer.Option(
            help="journal that keeps the state [default: <state_dir>/national-db.journal]"
        ),
    ] = None,
    faults: Annotated[
        str | None,
        typer.Option(help="faults at start, as a POST /v1/_faults body: '{\"error_rate\":0.1}'"),
    ] = None,
) -> None:
    """Run the national land database simulator (CONTRACT §7) until Ctrl-C."""
    settings = local_settings()
    overrides: dict[str, Any] = {
        "national_db_port": port,
        "national_db_data_file": data_file.resolve() if data_file else None,
        "national_db_faults": faults,
    }
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    env = child_env(settings, "national-db")
    module = SERVICES["national-db"].module
    os.chdir(PROJECT_ROOT)
    # exec, not import: shared/ never imports a service; the CLI runs services by module name.
    os.execve(sys.executable, [sys.executable, "-m", module], env)  # noqa: S606


def register(app: typer.Typer) -> None:
    """Add the ``sim`` commands to the ``landsync`` app."""
    app.add_typer(sim_app, name="sim")
