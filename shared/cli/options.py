"""Options that several commands take, and how they read them."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

AsJson = Annotated[bool, typer.Option("--json", help="print one JSON object")]


def day(text: str, option: str) -> date:
    """The YYYY-MM-DD date an option gave, or a usage error naming ``option``."""
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise typer.BadParameter("a date, YYYY-MM-DD", param_hint=option) from e
