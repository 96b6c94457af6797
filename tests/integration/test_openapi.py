"""Intake's OpenAPI as a client uses it: /docs works offline, errors come in one envelope, and a
query parameter the route does not take is refused rather than ignored."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from services.intake.schemas import ErrorBody, Worklist
from shared.browser import HeadlessChromium
from shared.settings import PROJECT_ROOT, Settings
from tests.conftest import KeyFactory
from tests.support import bearer, eventually

COMMUNE = "07339"


async def test_the_docs_page_works_with_nothing_but_intake(
    settings: Settings, intake: httpx.AsyncClient
) -> None:
    base = settings.service_url("intake")
    spec = (await intake.get("/openapi.json")).json()
    operations = sum(len(ops) for ops in spec["paths"].values())

    async with HeadlessChromium(width=1200) as browser:
        assert await browser.open(f"{base}/docs") == 200

        async def rendered() -> bool:
            shown = await browser.evaluate("document.querySelectorAll('.opblock').length")
            return bool(shown == operations)

        await eventually(rendered, timeout=30)
        authorize = await browser.evaluate("document.querySelectorAll('.btn.authorize').length")
        fetched = {u for u in browser.requests if not u.startswith("data:")}

    # Swagger UI's script and style come from intake itself: no CDN on an offline network.
    assert fetched, "the page loaded something"
    assert all(u.startswith(base) for u in fetched), sorted(fetched)
    assert f"{base}/openapi.json" in fetched
    assert authorize == 1, "the API key can be given once for every call"


async def test_a_misspelt_filter_is_refused_not_ignored(
    db: asyncpg.Pool[Any], intake: httpx.AsyncClient, new_key: KeyFactory
) -> None:
    operator = bearer(await new_key("operator"))

    misspelt = await intake.get("/v1/records", params={"comune": COMMUNE}, headers=operator)
    right = await intake.get("/v1/records", params={"commune": COMMUNE}, headers=operator)
    report = await intake.get("/v1/reports/campaign", params={"fromat": "csv"}, headers=operator)

    # Ignored, the typo would have listed every commune's records to an operator.
    assert misspelt.status_code == 422
    error = ErrorBody.model_validate(misspelt.json()).error
    assert error.code == "invalid_request"
    assert "comune" in error.message
    assert error.errors is not None
    assert [e.loc for e in error.errors] == [["query", "comune"]]
    assert "commune" in error.errors[0].msg  # the parameters it does take
    assert right.status_code == 200
    Worklist.model_validate(right.json())
    assert report.status_code == 422
    assert "fromat" in report.json()["error"]["message"]


async def test_a_repeated_parameter_or_a_number_for_a_date_is_refused(
    intake: httpx.AsyncClient, new_key: KeyFactory
) -> None:
    viewer = bearer(await new_key("viewer"))

    # Which commune would count? FastAPI alone takes the last one.
    twice = await intake.get(
        "/v1/records", params=[("commune", COMMUNE), ("commune", "08201")], headers=viewer
    )
    # pydantic alone takes a number as seconds since 1970.
    epoch = await intake.get("/v1/reports/campaign/daily", params={"from": "0.0"}, headers=viewer)
    since = await intake.get("/v1/records", params={"since": "1756684800"}, headers=viewer)
    dated = await intake.get(
        "/v1/reports/campaign/daily", params={"from": "2025-09-01"}, headers=viewer
    )

    assert twice.status_code == 422
    assert "more than once" in twice.json()["error"]["message"]
    assert epoch.status_code == 422
    assert "ISO 8601" in epoch.text
    assert since.status_code == 422
    assert dated.status_code == 200


async def test_every_refusal_has_the_same_envelope(
    intake: httpx.AsyncClient, new_key: KeyFactory
) -> None:
    viewer = bearer(await new_key("viewer"))
    operator = bearer(await new_key("operator"))

    refusals = {
        "unauthenticated": await intake.get("/v1/reports/campaign"),
        "forbidden_role": await intake.post("/v1/records", json={}, headers=viewer),
        "not_found": await intake.get(
            f"/v1/records/{'0' * 8}-0000-4000-8000-{'0' * 12}", headers=viewer
        ),
        "unknown_queue": await intake.get("/v1/dlq/nowhere", headers=operator),
        "invalid_request": await intake.get("/v1/records", params={"limit": "x"}, headers=viewer),
        "invalid_filter": await intake.get(
            "/v1/reports/campaign/daily",
            params={"from": "2025-09-02", "to": "2025-09-01"},
            headers=viewer,
        ),
    }

    for code, response in refusals.items():
        assert 400 <= response.status_code < 500, (code, response.status_code)
        assert response.headers["content-type"] == "application/json"
        assert ErrorBody.model_validate(response.json()).error.code == code
    assert refusals["unauthenticated"].headers["www-authenticate"] == "Bearer"


async def test_intake_serves_the_asyncapi_document(intake: httpx.AsyncClient) -> None:
    served = await intake.get("/asyncapi.yaml")

    assert served.status_code == 200
    assert served.headers["content-type"].startswith("application/yaml")
    assert served.text == (PROJECT_ROOT / "docs" / "asyncapi.yaml").read_text(encoding="utf-8")
