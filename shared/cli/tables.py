"""Columns the CLI's rich tables share, and the console they are printed on."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.table import Table


def add_id_column(table: Table, header: str, ids: Iterable[str]) -> None:
    """A column of record, key or submission ids: never wrapped or cut, since they are copied."""
    widest = max((len(i) for i in ids), default=0)
    table.add_column(header, no_wrap=True, overflow="ignore", min_width=max(widest, len(header)))


def wide_console(width: int) -> Console:
    """Standard output at least ``width`` columns wide, even when piped (rich falls back to 80)."""
    return Console(width=max(Console().width, width))
