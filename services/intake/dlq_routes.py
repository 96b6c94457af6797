"""Dead-letter routes of CONTRACT §5 for the ``operator`` role: list, show and replay a queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Path, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from services.intake import bodies, schemas
from services.intake.deps import Deps, DepsDep, KeyDep, require_role
from services.intake.errors import ApiError
from services.intake.responses import JsonResponse
from services.intake.schemas import ReplayRequest
from shared.auth import ApiKey
from shared.dlq import replay, service
from shared.dlq.model import BadFilterError, Filter, UnknownQueueError, parse_filter, queue_topic

router = APIRouter(prefix="/v1/dlq", tags=["dead letters"])
_MAX_BODY = 64 * 1024
# The queue is documented as an enum; at run time an unknown one is a 404, as an unknown path is.
QueueDep = Annotated[
    str,
    Path(
        description="the queue's short name",
        json_schema_extra={"enum": [q.value for q in schemas.Queue]},
    ),
]
# The replay body is read with intake's bounds (size, idle time), then checked by its model: the
# OpenAPI documents that model as the body.
_REPLAY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {"application/json": {"schema": ReplayRequest.model_json_schema()}},
    }
}
_LIST_ERRORS = schemas.errors(401, 403, 404, 422, 503)


def _operator(key: ApiKey, d: Deps, queue: str) -> None:
    """403 unless the key is an operator's, then 404 for a queue that does not exist."""
    require_role(key, "operator", "inspect dead letters")
    try:
        queue_topic(d.settings.topics, queue)
    except UnknownQueueError as exc:
        raise ApiError(404, "unknown_queue", str(exc)) from None


def _filter(**given: Any) -> Filter:  # noqa: ANN401 - the filter options, passed on by name
    try:
        return parse_filter(**given)
    except BadFilterError as exc:
        raise ApiError(422, "invalid_filter", str(exc)) from None


@asynccontextmanager
async def _broker_errors() -> AsyncIterator[None]:
    """The broker is down or slow: no replay was recorded, so running it again is safe."""
    try:
        yield
    except (KafkaError, TimeoutError) as exc:
        raise ApiError(503, "unavailable", f"Kafka is unavailable; retry later ({exc})") from None


@router.get(
    "/{queue}",
    responses=schemas.ok(schemas.DeadLetters, "The dead letters.", 200) | _LIST_ERRORS,
)
async def list_dead_letters(
    queue: QueueDep, d: DepsDep, key: KeyDep, query: Annotated[schemas.DeadLetterQuery, Query()]
) -> Response:
    """The queue's dead letters, oldest first; names and IDs masked unless ``reveal=true``."""
    _operator(key, d, queue)
    wanted = _filter(**query.model_dump(exclude={"reveal"}))
    async with _broker_errors():
        listing = await service.list_dead_letters(d.settings, d.pool, queue, wanted)
    if query.reveal:
        await service.audit_reveal(d.pool, listing, wanted, actor=key.key_id)
    return JsonResponse(listing.as_json(reveal=query.reveal))


@router.get(
    "/{queue}/{record_id}",
    responses=schemas.ok(schemas.RecordDeadLetters, "The record's dead letters.", 200)
    | _LIST_ERRORS,
)
async def show_dead_letter(
    queue: QueueDep, record_id: str, d: DepsDep, key: KeyDep, reveal: bool = False
) -> Response:
    """Every dead letter of one record in the queue, replayed ones included, oldest first."""
    _operator(key, d, queue)
    wanted = _filter(record_id=record_id, include_replayed=True)
    async with _broker_errors():
        listing = await service.list_dead_letters(d.settings, d.pool, queue, wanted)
    if not listing.letters:
        raise ApiError(404, "not_found", "no dead letter of this record in this queue")
    if reveal:
        await service.audit_reveal(d.pool, listing, wanted, actor=key.key_id)
    return JsonResponse({"record_id": record_id, **listing.as_json(reveal=reveal)})


@router.post(
    "/{queue}/replay",
    openapi_extra=_REPLAY_DOC,
    responses=schemas.ok(schemas.ReplayAnswer, "What was replayed.", 200)
    | schemas.errors(400, 401, 403, 404, 408, 413, 422, 503),
)
async def replay_dead_letters(
    queue: QueueDep, request: Request, d: DepsDep, key: KeyDep
) -> Response:
    """Publish the matching dead letters again; answers how many were (would be) replayed."""
    _operator(key, d, queue)
    asked = await _replay_request(request, d.settings.body_timeout_seconds)
    wanted = _filter(**asked.model_dump(exclude={"dry_run", "all"}))
    if not wanted.may_replay(everything=asked.all, dry_run=asked.dry_run):
        raise ApiError(
            422,
            "replay_needs_filter",
            'name what to replay (commune, reason, since or record_id), or send "all": true'
            " to replay the whole queue",
        )
    if not asked.dry_run and not await d.producer.ping():
        raise ApiError(503, "unavailable", "Kafka is unavailable; retry later")
    async with _broker_errors(), d.pool.acquire() as conn:
        outcome = await replay.replay(
            d.settings, conn, d.producer, queue, wanted, actor=key.key_id, dry_run=asked.dry_run
        )
    return JsonResponse(outcome.as_json())


async def _replay_request(request: Request, idle: float) -> ReplayRequest:
    """The body, if any (an empty one names nothing, and is refused unless a dry run)."""
    raw = await bodies.read_body(request, _MAX_BODY, idle=idle, allow_empty=True)
    if not raw.strip():
        return ReplayRequest()
    try:
        return ReplayRequest.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ApiError(422, "invalid_request", f"{where}: {first['msg']}") from None
