"""Reads the files the generator writes: JSON lines and CSV with a header."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """One dict per line."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_csv(path: Path) -> list[dict[str, str]]:
    """One dict per row, keyed by the header."""
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))
