"""``GET /v1/reports/campaign`` (CONTRACT §2, §6): the campaign report as JSON, CSV or HTML."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from services.intake.api import DepsDep, KeyDep
from shared.cli.report_view import as_csv, as_json
from shared.report import campaign
from shared.report_html import CONTENT_SECURITY_POLICY, page

router = APIRouter(tags=["reports"])
Format = Literal["json", "csv", "html"]

_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report: JSON by default, CSV or an HTML page by `format`.",
        "content": {"application/json": {}, "text/csv": {}, "text/html": {}},
    }
}


@router.get("/v1/reports/campaign", responses=_DOC)
async def campaign_report(
    d: DepsDep,
    key: KeyDep,  # every role reads it; a submitter sees only its own communes
    output: Annotated[Format, Query(alias="format")] = "json",
) -> Response:
    """Per-commune and province progress: received, decided, rates, reasons (CONTRACT §6)."""
    async with d.pool.acquire() as conn:
        rows = await campaign(conn, key.readable_communes)
    if output == "csv":
        headers = {"Content-Disposition": 'inline; filename="campaign-report.csv"'}
        return Response(as_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)
    if output == "html":
        headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY}
        return Response(page(rows), media_type="text/html; charset=utf-8", headers=headers)
    return Response(as_json(rows), media_type="application/json")
