"""Reads request bodies within their size limits and splits them into records' JSON by index."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request

from services.intake.errors import ApiError
from services.intake.service import BatchOutcome
from services.intake.validation import Line

Parsed = tuple[list[Line], BatchOutcome]


def require_content_type(request: Request, *accepted: str) -> None:
    """Refuse a body that does not declare one of the accepted media types."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in accepted:
        raise ApiError(
            400,
            "unsupported_media_type",
            f"Content-Type must be {' or '.join(accepted)}, not {media_type or 'missing'}",
        )


def _check_declared_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "body_too_large", f"the body is over the {limit}-byte limit")


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing it as soon as it passes ``limit`` bytes."""
    _check_declared_length(request, limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "body_too_large", f"the body is over the {limit}-byte limit")
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        raise ApiError(400, "empty_body", "the body is empty; send a record or an array")
    return body


async def ndjson_lines(request: Request, limit: int) -> AsyncIterator[tuple[int, bytes]]:
    """Non-blank lines of a streamed NDJSON body with their 0-based line numbers."""
    _check_declared_length(request, limit)
    size = 0
    index = 0
    pending = b""
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "body_too_large", f"the body is over the {limit}-byte limit")
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.strip():
                yield index, line
            index += 1
    if pending.strip():
        yield index, pending


def parse_json_batch(body: bytes, max_records: int) -> Parsed:
    """A JSON object or array: each record's JSON by index, and the errors of non-objects."""
    try:
        document: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    items = document if isinstance(document, list) else [document]
    if not isinstance(document, list | dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object or array of objects")
    if not items:
        raise ApiError(400, "empty_batch", "the array holds no records")
    if len(items) > max_records:
        raise ApiError(
            413, "too_many_records", f"{len(items)} records; at most {max_records} per request"
        )
    outcome = BatchOutcome()
    lines: list[Line] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            outcome.add_error(index, [], "a record must be a JSON object", "model_type")
            continue
        # Validated from JSON later (not from Python objects): that keeps the strict JSON rules.
        lines.append((index, orjson.dumps(item)))
    return lines, outcome
