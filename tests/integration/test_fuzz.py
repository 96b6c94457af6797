"""Intake under a schema fuzzer: whatever schemathesis sends from its OpenAPI, never a 5xx, and
every answer is one the OpenAPI documents (its status, content type and body schema); a request
the schema says is wrong is refused.

Bounded in examples and in time, so the suite stays short; ``LANDSYNC_FUZZ_SECONDS`` and
``LANDSYNC_FUZZ_EXAMPLES`` run longer. Each operation gets its share, so every one is reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from shared.settings import Settings
from tests.conftest import KeyFactory
from tests.support import bearer

SECONDS = float(os.environ.get("LANDSYNC_FUZZ_SECONDS", "15"))  # per role and mode
EXAMPLES = int(os.environ.get("LANDSYNC_FUZZ_EXAMPLES", "40"))  # per operation, at most
COMMUNE = "07339"


@schemathesis.serializer("application/x-ndjson")
def _ndjson(_context: Any, value: Any) -> bytes:
    # The NDJSON endpoint documents one record per line: a generated body is one line.
    return json.dumps(value).encode()


_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _headers_for(case: Any, headers: dict[str, str]) -> dict[str, str]:
    """The key's header, unless the case's own headers are its negative part.

    A negative case may drop or spoil ``Authorization``; sending the key over it would undo the
    mutation, and schemathesis would then call the valid request's 200 a failure to reject.
    """
    meta = case.meta
    info = meta.components.get(ParameterLocation.HEADER) if meta is not None else None
    return {} if info is not None and info.mode.is_negative else headers


#: A control character (but a tab): RFC 9110 §5.5 has none in a header's value.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _not_http(request: Any) -> bool:
    """Whether a header the fuzzer sent holds a control character: such a request is not HTTP,
    and the server's parser answers it 400 (plain text) before intake ever sees it."""
    return any(
        _CONTROL.search(value if isinstance(value, str) else value.decode("latin-1"))
        for value in request.headers.values()
    )


def _prober(
    operation: Any,
    mode: GenerationMode,
    base_url: str,
    headers: dict[str, str],
    until: float,
    reached: set[str],
    errors: list[str],
) -> Any:
    """A hypothesis test sending ``operation``'s generated requests until ``until``."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def probe(case: Any) -> None:
        operation_name = f"{case.method} {case.path}"
        # Past its share of time only once reached: generating a first record can take that long.
        if time.monotonic() > until and operation_name in reached:
            return
        sent = _headers_for(case, headers)
        response = case.call(base_url=base_url, headers=sent, timeout=60)
        reached.add(operation_name)
        if _not_http(response.request):
            if response.status_code != 400:
                errors.append(f"{case.method} {response.request.url} with a control character"
                              f" in a header -> {response.status_code}, not 400")  # fmt: skip
            return
        try:
            case.validate_response(response, checks=_CHECKS, headers=sent)
        except (Failure, FailureGroup) as failed:
            found = failed.exceptions if isinstance(failed, FailureGroup) else [failed]
            errors.extend(
                f"{case.method} {response.request.url} -> {response.status_code}: {f.title}"
                f" ({f.message[:300]})"
                for f in found
            )

    return probe


def _fuzz(base_url: str, key: str, mode: GenerationMode) -> tuple[set[str], list[str]]:
    """Fuzz every operation but a real replay, each in turn with a share of the time budget:
    the operations reached, and the failed checks."""
    # A minute, not schemathesis' 10 s: on a loaded machine intake may still be answering the
    # previous round's last slow requests (a CI run once timed out here three times).
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", timeout=60).exclude(
        path="/v1/dlq/{queue}/replay"  # would replay other tests' dead letters for real
    )
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"intake's OpenAPI has an invalid operation: {result.err()}"
        operations.append(result.ok())
    headers = bearer(key)
    errors: list[str] = []
    reached: set[str] = set()
    for operation in operations:
        until = time.monotonic() + SECONDS / len(operations)
        # In negative mode an operation with no parameter to get wrong has nothing to send.
        with contextlib.suppress(Unsatisfiable):
            _prober(operation, mode, base_url, headers, until, reached, errors)()
    return reached, errors


@pytest.mark.parametrize("role", ["submitter", "operator"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
async def test_every_fuzzed_request_gets_a_documented_answer_never_a_server_error(
    settings: Settings, new_key: KeyFactory, role: str, mode: GenerationMode
) -> None:
    key = await new_key(role, [COMMUNE] if role == "submitter" else [])

    reached, errors = await asyncio.to_thread(_fuzz, settings.service_url("intake"), key, mode)

    assert errors == [], "\n".join(errors)
    assert {"POST /v1/records", "GET /v1/records/{record_id}", "GET /v1/dlq/{queue}"} <= reached
    if mode == GenerationMode.POSITIVE:
        assert len(reached) >= 10  # every route the OpenAPI documents, or nearly
