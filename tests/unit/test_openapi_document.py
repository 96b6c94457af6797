"""Intake's OpenAPI documents every answer a client can get, and how to authenticate."""

from __future__ import annotations

from typing import Any

import pytest

from services.intake.app import create_app
from shared.settings import Settings


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    document: dict[str, Any] = create_app(Settings()).openapi()
    return document


_ENVELOPED = {"400", "401", "403", "404", "408", "413", "422", "429", "503"}
# A batch whose every record was refused is answered with the batch's own body, by index;
# readiness answers its checks whether ready or not.
_BATCHES = {"/v1/records", "/v1/records:ndjson"}


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), p, op) for p, ops in spec["paths"].items() for m, op in ops.items()]


def test_every_v1_operation_takes_the_bearer_key_and_documents_401(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["apiKey"]["description"],
    }
    for method, path, op in _operations(spec):
        if path.startswith("/v1/"):
            assert op.get("security") == [{"apiKey": []}], (method, path)
            assert "401" in op["responses"], (method, path)
        else:
            assert "security" not in op, (method, path)


def test_every_answer_has_a_schema_and_errors_one_envelope(spec: dict[str, Any]) -> None:
    for method, path, op in _operations(spec):
        for status, response in op["responses"].items():
            content = response.get("content")
            assert content, (method, path, status, "no content documented")
            for media_type, body in content.items():
                assert body.get("schema"), (method, path, status, media_type)
            own = (path in _BATCHES and status in {"403", "422"}) or path == "/readyz"
            if status in _ENVELOPED and not own:
                assert content["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorBody"
                }, (method, path, status)
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_the_queue_is_an_enum_and_metrics_are_text(spec: dict[str, Any]) -> None:
    [queue] = [
        p for p in spec["paths"]["/v1/dlq/{queue}"]["get"]["parameters"] if p["name"] == "queue"
    ]
    assert queue["schema"]["enum"] == ["owner-unresolved", "mortgaged", "sync-failed", "poison"]
    assert list(spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == ["text/plain"]
    replay = spec["paths"]["/v1/dlq/{queue}/replay"]["post"]["requestBody"]
    assert "all" in replay["content"]["application/json"]["schema"]["properties"]
