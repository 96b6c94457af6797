"""``landsync asyncapi``: the AsyncAPI document of LandSync's topics, as YAML."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from shared.asyncapi import as_yaml


def asyncapi_command(
    out: Annotated[
        Path | None, typer.Option(help="write it here (docs/asyncapi.yaml) instead of stdout")
    ] = None,
) -> None:
    """Print the AsyncAPI 3.0 document: every topic with its key, payload and headers."""
    text = as_yaml()
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


def register(app: typer.Typer) -> None:
    """Add the command."""
    app.command("asyncapi")(asyncapi_command)
