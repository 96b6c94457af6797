"""Unit tests log as the services do (masked JSON lines), not through structlog's console renderer,
which draws every traceback with rich: half a second each, and consumer tests log dozens."""

from __future__ import annotations

import io

import pytest

from shared.logging import configure_logging


@pytest.fixture(autouse=True, scope="session")
def _json_logs() -> None:
    configure_logging("unit-tests", "INFO", stream=io.StringIO())
