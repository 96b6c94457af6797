"""The shipped Grafana dashboard, as the tests read it: the document and every panel in it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from shared.settings import PROJECT_ROOT

DASHBOARD = PROJECT_ROOT / "deploy" / "grafana" / "landsync-dashboard.json"


def load_dashboard() -> dict[str, Any]:
    """The dashboard's JSON document."""
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def all_panels(of: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel of the list, and those of its rows, depth first."""
    for panel in of:
        yield panel
        yield from all_panels(panel.get("panels", []))
