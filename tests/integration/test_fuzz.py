"""Intake under a schema fuzzer: whatever schemathesis sends from its OpenAPI, never a 5xx.

Bounded in examples and in time, so the suite stays short; ``LANDSYNC_FUZZ_SECONDS`` runs longer.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from shared.settings import Settings
from tests.conftest import KeyFactory

SECONDS = float(os.environ.get("LANDSYNC_FUZZ_SECONDS", "15"))  # per role and mode
COMMUNE = "07339"


@schemathesis.serializer("application/x-ndjson")
def _ndjson(_context: Any, value: Any) -> bytes:
    # The NDJSON endpoint documents one record per line: a generated body is one line.
    return json.dumps(value).encode()


def _fuzz(base_url: str, key: str, mode: GenerationMode) -> tuple[set[str], list[str]]:
    """Fuzz every operation but a real replay: the operations reached, and the 5xx answers."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json").exclude(
        path="/v1/dlq/{queue}/replay"  # would replay other tests' dead letters for real
    )
    strategy = schema.as_strategy(generation_mode=mode)
    headers = {"Authorization": f"Bearer {key}"}
    deadline = time.monotonic() + SECONDS
    errors: list[str] = []
    reached: set[str] = set()

    @settings(
        max_examples=400,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def probe(case: Any) -> None:
        if time.monotonic() > deadline:
            return
        response = case.call(base_url=base_url, headers=headers, timeout=60)
        reached.add(f"{case.method} {case.path}")
        if response.status_code >= 500:
            errors.append(f"{case.method} {case.formatted_path}: {response.status_code}")

    probe()
    return reached, errors


@pytest.mark.parametrize("role", ["submitter", "operator"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
async def test_no_fuzzed_request_gets_a_server_error(
    settings: Settings, new_key: KeyFactory, role: str, mode: GenerationMode
) -> None:
    key = await new_key(role, [COMMUNE] if role == "submitter" else [])

    reached, errors = await asyncio.to_thread(_fuzz, settings.service_url("intake"), key, mode)

    assert errors == []
    assert {"POST /v1/records", "GET /v1/records/{record_id}", "GET /v1/dlq/{queue}"} <= reached
