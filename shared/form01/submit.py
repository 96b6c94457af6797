"""Sends a form's records through intake's own ``POST /v1/records``, in batches it accepts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

BATCH = 10_000  # intake's limit per request (CONTRACT §2)


class IntakeError(Exception):
    """Intake refused a whole batch (a wrong key, an outage): nothing after it was sent."""


async def submit_records(
    client: httpx.AsyncClient,
    key: str,
    records: list[bytes],
    advance: Callable[[int], None] = lambda _: None,
    batch: int = BATCH,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Intake's ``results`` and ``errors``, their ``index`` counted over ``records`` (JSON)."""
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    for start in range(0, len(records), batch):
        chunk = records[start : start + batch]
        body = b"[" + b",".join(chunk) + b"]"
        response = await client.post("/v1/records", content=body, headers=headers)
        answer = _answer(response, start)
        results += [r | {"index": r["index"] + start} for r in answer.get("results", [])]
        errors += [e | {"index": e["index"] + start} for e in answer.get("errors", [])]
        advance(len(chunk))
    return results, errors


def _answer(response: httpx.Response, start: int) -> dict[str, Any]:
    """The per-record answer; a 403 or 422 still carries one when every record was refused."""
    try:
        body = response.json()
    except ValueError:
        body = None
    per_record = isinstance(body, dict) and ("results" in body or "errors" in body)
    if response.status_code == 202 or (response.status_code in (403, 422) and per_record):
        return body  # type: ignore[no-any-return]
    raise IntakeError(
        f"intake answered {response.status_code} after {start:,} records: {response.text[:300]}"
    )
