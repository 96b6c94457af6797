"""Columns the CLI's rich tables share."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table


def add_id_column(table: Table, header: str, ids: Iterable[str]) -> None:
    """A column of record, key or submission ids: never wrapped or cut, since they are copied."""
    widest = max((len(i) for i in ids), default=0)
    table.add_column(header, no_wrap=True, overflow="ignore", min_width=max(widest, len(header)))
