"""``GET /v1/reports/campaign`` and ``…/daily`` (CONTRACT §2, §6): as JSON, CSV or HTML."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from services.intake import schemas
from services.intake.deps import DepsDep, KeyDep
from services.intake.errors import ApiError
from shared.daily import SpanTooLongError, daily
from shared.report import report_bundle, today_in
from shared.report_formats import as_csv, as_json, daily_csv, daily_json
from shared.report_html import CONTENT_SECURITY_POLICY, render

router = APIRouter(tags=["reports"])
Format = Literal["json", "csv", "html"]
DailyFormat = Literal["json", "csv"]

_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report: JSON by default, CSV or an HTML page by `format`.",
        "model": schemas.CampaignReport,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "text/html": {"schema": {"type": "string"}},
        },
    },
    **schemas.errors(401, 422, 503),
}
_DAILY_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Cases received, cleaned and synced per day: JSON, or CSV by `format`.",
        "model": schemas.DailyFigures,
        "content": {"text/csv": {"schema": {"type": "string"}}},
    },
    **schemas.errors(401, 403, 422, 503),
}


@router.get("/v1/reports/campaign", responses=_DOC)
async def campaign_report(
    d: DepsDep,
    key: KeyDep,  # every role reads it; a submitter sees only its own communes
    output: Annotated[Format, Query(alias="format")] = "json",
) -> Response:
    """Per-commune and province progress: cases, targets, submissions, reasons (CONTRACT §6)."""
    async with d.pool.acquire() as conn:
        bundle = await report_bundle(
            conn, d.settings.campaign_timezone, key.readable_communes, with_days=output == "html"
        )
    if output == "csv":
        headers = {"Content-Disposition": 'inline; filename="campaign-report.csv"'}
        return Response(as_csv(bundle.rows), media_type="text/csv; charset=utf-8", headers=headers)
    if output == "html":
        headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY}
        html = render(bundle)
        return Response(html, media_type="text/html; charset=utf-8", headers=headers)
    return Response(as_json(bundle.rows), media_type="application/json")


@router.get("/v1/reports/campaign/daily", responses=_DAILY_DOC)
async def campaign_daily(  # noqa: PLR0917 - the query's parameters
    d: DepsDep,
    key: KeyDep,
    commune: Annotated[str | None, Query(pattern=r"^[0-9]{5}$")] = None,
    start: Annotated[schemas.IsoDate | None, Query(alias="from")] = None,
    end: Annotated[schemas.IsoDate | None, Query(alias="to")] = None,
    output: Annotated[DailyFormat, Query(alias="format")] = "json",
) -> Response:
    """Per day: cases received, cleaned, synced, and their running totals (CONTRACT §6).

    Without ``commune``, the province (for a submitter: its communes together).
    """
    if commune is not None and not key.may_read(commune):
        raise ApiError(403, "forbidden_commune", "this API key may not read this commune")
    if start and end and end < start:
        raise ApiError(422, "invalid_filter", "`to` comes before `from`")
    timezone = d.settings.campaign_timezone
    async with d.pool.acquire() as conn:
        try:
            days = await daily(
                conn,
                timezone=timezone,
                today=today_in(timezone),
                commune=commune,
                communes=key.readable_communes,
                start=start,
                end=end,
            )
        except SpanTooLongError as exc:
            raise ApiError(422, "invalid_filter", str(exc)) from None
    if output == "csv":
        headers = {"Content-Disposition": 'inline; filename="campaign-daily.csv"'}
        return Response(daily_csv(days), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(daily_json(days), media_type="application/json")
