"""Intake's record routes (CONTRACT §2): submit JSON or NDJSON, and read a record's status."""

from __future__ import annotations

import contextlib
import functools
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.intake import bodies, ledger, metrics, schemas, service
from services.intake.deps import Deps, DepsDep, KeyDep, require_submitter
from services.intake.errors import ApiError
from services.intake.pipeline import Pipeline
from services.intake.responses import JsonResponse
from services.intake.validation import Checked, Line
from shared import tracing
from shared.auth import ApiKey
from shared.logging import get_logger

router = APIRouter(tags=["records"])
log = get_logger(__name__)
_Route = Callable[..., Coroutine[Any, Any, Response]]


_RECORD_BODY = {"$ref": "#/components/schemas/Form01Record"}
_BATCH_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"oneOf": [_RECORD_BODY, {"type": "array", "items": _RECORD_BODY}]}
            }
        },
    }
}
_NDJSON_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/x-ndjson": {"schema": _RECORD_BODY}},
        "description": "One Form01Record JSON object per line.",
    }
}


async def _store(
    d: Deps, key: ApiKey, checked: Checked, traceparent: str | None = None
) -> service.BatchAnswer:
    if not checked:
        return service.BatchAnswer(errors=list(checked.errors))
    return await service.store(d.records, checked, key, traceparent)


def _answer(
    outcome: service.BatchAnswer, key: ApiKey, endpoint: str, started: float
) -> JsonResponse:
    metrics.BATCH_SECONDS.labels(endpoint).observe(time.perf_counter() - started)
    statuses = Counter(r["status"] for r in outcome.results)
    for status, count in statuses.items():
        metrics.RECORDS.labels(status).inc(count)
    metrics.RECORDS.labels("refused").inc(len(outcome.errors))
    log.info(
        "records answered",
        endpoint=endpoint,
        api_key=key.key_id,
        received=statuses["received"],
        duplicate_submissions=statuses["duplicate_submission"],
        refused=len(outcome.errors),
        refusals=sorted({err["type"] for e in outcome.errors for err in e["errors"]}),
    )
    status = 202 if outcome.received else 403 if outcome.only_forbidden else 422
    return JsonResponse(outcome.body(), status)


_SUBMIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": schemas.BatchAnswer, "description": "At least one record is in the ledger."},
    403: {
        "model": schemas.ErrorBody | schemas.BatchAnswer,
        "description": "The key may not submit (the envelope), or may not submit for any of the"
        " batch's communes (the batch's answer, each record refused).",
    },
    422: {"model": schemas.BatchAnswer, "description": "Every record of the batch was refused."},
    **schemas.errors(400, 401, 408, 413, 429, 503),
}


def _submit_route(path: str, doc: dict[str, Any]) -> Callable[[_Route], _Route]:
    """The route of a submission endpoint: both answer alike (202, ``_SUBMIT_RESPONSES``)."""
    return router.post(path, status_code=202, openapi_extra=doc, responses=_SUBMIT_RESPONSES)


@contextlib.asynccontextmanager
async def _receiving(
    request: Request, d: Deps, key: ApiKey, endpoint: str, *content_types: str
) -> AsyncIterator[tuple[str | None, float]]:
    """The span of one submission, entered once the key may submit a body of this type.

    Yields the traceparent to store with the records and when the submission started.
    """
    with tracing.request_span("intake.receive", request.headers, endpoint=endpoint) as tp:
        started = time.perf_counter()
        await require_submitter(key, d)
        bodies.require_content_type(request, *content_types)
        yield tp, started


@_submit_route("/v1/records", _BATCH_DOC)
async def post_records(request: Request, d: DepsDep, key: KeyDep) -> Response:
    """Submit one record (a JSON object) or up to the batch limit (a JSON array)."""
    async with _receiving(request, d, key, "json", "application/json") as (tp, started):
        body = await bodies.read_body(
            request, d.settings.max_body_bytes, idle=d.settings.body_timeout_seconds
        )
        lines, outcome = bodies.parse_json_batch(body, d.settings.max_batch_records)
        if lines:
            outcome.extend(await _store(d, key, await d.validator.check(lines), tp))
        return _answer(outcome, key, "json", started)


@_submit_route("/v1/records:ndjson", _NDJSON_DOC)
async def post_records_ndjson(request: Request, d: DepsDep, key: KeyDep) -> Response:
    """Submit records as NDJSON, one per line, streamed and stored in chunks as they arrive."""
    ndjson = ("application/x-ndjson", "application/jsonl")
    async with _receiving(request, d, key, "ndjson", *ndjson) as (tp, started):
        pipeline = Pipeline(d.validator, functools.partial(_store, d, key, traceparent=tp))
        chunk: list[Line] = []
        lines = 0
        refused = service.BatchAnswer()  # lines over the size of one record
        try:
            async for line in bodies.ndjson_lines(
                request,
                d.settings.max_ndjson_bytes,
                d.settings.max_record_bytes,
                refused,
                idle=d.settings.body_timeout_seconds,
            ):
                lines += 1
                chunk.append(line)
                if len(chunk) >= d.settings.ndjson_chunk_records:
                    await pipeline.add(chunk)
                    chunk = []
            if chunk:
                await pipeline.add(chunk)
            outcome = await pipeline.finish()
        finally:
            pipeline.cancel()
        outcome.extend(refused)
        if not lines and not refused.errors:
            raise ApiError(400, "empty_body", "the body holds no records")
        return _answer(outcome, key, "ndjson", started)


@router.get(
    "/v1/records/{record_id}",
    responses=schemas.ok(schemas.RecordStatus, "The record's status.")
    | schemas.errors(401, 403, 404, 422, 503),
)
async def get_record(record_id: UUID, d: DepsDep, key: KeyDep) -> Response:
    """A record's status, reasons, warnings and timestamps."""
    row = await ledger.fetch_status(d.pool, record_id)
    if row is None:
        raise ApiError(404, "not_found", "no record with this id")
    if not key.may_read(row["commune_code"]):
        raise ApiError(403, "forbidden_commune", "this API key may not read this commune's records")
    body = dict(row)
    body["record_id"] = str(body["record_id"])
    if body["corrects_record_id"] is not None:
        body["corrects_record_id"] = str(body["corrects_record_id"])
    for stamp in ("received_at", "decided_at", "synced_at", "updated_at"):
        body[stamp] = body[stamp].isoformat() if body[stamp] else None
    return JsonResponse(body)
