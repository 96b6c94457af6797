"""The province's communes (code, name, kind), from the list the project ships."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

COMMUNES_CSV = Path(__file__).resolve().parent / "data" / "bac-ninh-communes.csv"


@dataclass(frozen=True)
class ProvinceCommune:
    """A commune of the list: its code, its name and its kind (xã, phường)."""

    code: str
    name: str
    kind: str


@cache
def province_communes() -> tuple[ProvinceCommune, ...]:
    """Every commune of the list, in its order."""
    with COMMUNES_CSV.open(encoding="utf-8") as f:
        return tuple(
            ProvinceCommune(r["commune_code"], r["name"], r["kind"]) for r in csv.DictReader(f)
        )


def commune_names() -> dict[str, str]:
    """Commune code → name."""
    return {c.code: c.name for c in province_communes()}
