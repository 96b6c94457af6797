"""``GET /v1/records`` (CONTRACT §2): the correction worklist, back to the commune."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from services.intake import schemas
from services.intake.deps import DepsDep, KeyDep
from services.intake.errors import ApiError
from services.intake.responses import JsonResponse
from shared import worklist
from shared.states import Status

router = APIRouter(tags=["records"])


@router.get(
    "/v1/records",
    responses=schemas.ok(schemas.Worklist, "A page of the worklist.", 200)
    | schemas.errors(401, 403, 422, 503),
)
async def list_records(  # noqa: PLR0917 - CONTRACT §2's query parameters
    d: DepsDep,
    key: KeyDep,
    commune: Annotated[str | None, Query(pattern=r"^[0-9]{5}$")] = None,
    status: Status | None = None,
    reason: str | None = None,
    since: schemas.IsoDateTime | None = None,
    open_: Annotated[bool, Query(alias="open")] = True,
    limit: Annotated[int, Query(ge=1, le=worklist.MAX_LIMIT)] = 100,
    cursor: str | None = None,
) -> Response:
    """Decided records, newest decision last; by default only those whose case is still open.

    Each reason comes with its detail, plain words (Vietnamese and English) and what to do.
    A submitter sees only its communes.
    """
    if commune is not None and not key.may_read(commune):
        raise ApiError(403, "forbidden_commune", "this API key may not read this commune")
    communes = [commune] if commune is not None else key.readable_communes
    query = worklist.Query(communes, status, reason, since, open_, limit, cursor)
    try:
        worklist.check(query)
    except ValueError as exc:
        raise ApiError(422, "invalid_filter", str(exc)) from None
    async with d.pool.acquire() as conn:
        items, next_cursor = await worklist.page(conn, query)
    return JsonResponse({"items": items, "next_cursor": next_cursor})
