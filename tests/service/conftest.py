"""Service-layer tests log as the services do (masked JSON lines), as the unit tests do."""

from __future__ import annotations

import io

import pytest

from shared.logging import configure_logging


@pytest.fixture(autouse=True, scope="session")
def _json_logs() -> None:
    configure_logging("service-tests", "INFO", stream=io.StringIO())
