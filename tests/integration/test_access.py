"""The role matrix of CONTRACT §2 on every endpoint intake serves: who gets 2xx, 401 or 403."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from tests.conftest import KeyFactory
from tests.form01_files import form_bytes
from tests.support import bearer, make_record, register

COMMUNE, FOREIGN = "07339", "09187"
Caller = str  # "none", "wrong", "submitter", "foreign submitter", "viewer", "operator"
CALLERS: tuple[Caller, ...] = (
    "none",
    "wrong",
    "submitter",
    "foreign submitter",
    "viewer",
    "operator",
)
Call = Callable[[httpx.AsyncClient, dict[str, str], str], Awaitable[httpx.Response]]


def _ndjson(client: httpx.AsyncClient, headers: dict[str, str], _: str) -> Any:
    body = orjson.dumps(make_record(COMMUNE))
    return client.post(
        "/v1/records:ndjson",
        content=body,
        headers={**headers, "Content-Type": "application/x-ndjson"},
    )


def _form01(client: httpx.AsyncClient, headers: dict[str, str], _: str) -> Any:
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    body = form_bytes([make_record(COMMUNE)])
    return client.post(
        "/v1/imports/form01", content=body, headers={**headers, "Content-Type": xlsx}
    )


def _get(path: str) -> Call:
    """A GET of ``path``; ``{record_id}`` in it stands for the record the test posted."""
    return lambda c, h, rid: c.get(path.format(record_id=rid), headers=h)


# What each kind of endpoint answers the callers with a key. "foreign submitter" is a submitter
# key for another commune: it may not post or read this commune's records.
SUBMITTERS_ONLY = {"submitter": 202, "foreign submitter": 403, "viewer": 403, "operator": 403}
COMMUNE_READERS = {"submitter": 200, "foreign submitter": 403, "viewer": 200, "operator": 200}
OPERATORS_ONLY = {"submitter": 403, "foreign submitter": 403, "viewer": 403, "operator": 200}
NOT_FOUND_FOR_ALL = {"submitter": 404, "foreign submitter": 404, "viewer": 404, "operator": 404}

# (method, path template, the call, expected status by caller).
MATRIX: list[tuple[str, str, Call, dict[Caller, int]]] = [
    (
        "POST", "/v1/records",
        lambda c, h, _: c.post("/v1/records", json=make_record(COMMUNE), headers=h),
        SUBMITTERS_ONLY,
    ),
    ("POST", "/v1/records:ndjson", _ndjson, SUBMITTERS_ONLY),
    ("GET", "/v1/records/{record_id}", _get("/v1/records/{record_id}"), COMMUNE_READERS),
    (
        "GET", "/v1/reports/campaign", _get("/v1/reports/campaign"),
        {"submitter": 200, "foreign submitter": 200, "viewer": 200, "operator": 200},
    ),
    (
        "GET", "/v1/reports/campaign/daily", _get(f"/v1/reports/campaign/daily?commune={COMMUNE}"),
        COMMUNE_READERS,
    ),
    ("GET", "/v1/records", _get(f"/v1/records?commune={COMMUNE}"), COMMUNE_READERS),
    ("GET", "/v1/dlq/{queue}", _get("/v1/dlq/owner-unresolved"), OPERATORS_ONLY),
    (
        "GET", "/v1/dlq/{queue}/{record_id}",
        lambda c, h, _: c.get(f"/v1/dlq/mortgaged/{uuid.uuid4()}", headers=h),
        {**OPERATORS_ONLY, "operator": 404},  # an operator is told there is no such letter
    ),
    (
        "POST", "/v1/dlq/{queue}/replay",
        lambda c, h, _: c.post("/v1/dlq/poison/replay", json={"dry_run": True}, headers=h),
        OPERATORS_ONLY,
    ),
    ("POST", "/v1/imports/form01", _form01, SUBMITTERS_ONLY),
    (
        "GET", "/v1/imports/{import_id}",
        lambda c, h, _: c.get(f"/v1/imports/{uuid.uuid4()}", headers=h),
        NOT_FOUND_FOR_ALL,
    ),
    (
        "GET", "/v1/imports/{import_id}/annotated.xlsx",
        lambda c, h, _: c.get(f"/v1/imports/{uuid.uuid4()}/annotated.xlsx", headers=h),
        NOT_FOUND_FOR_ALL,
    ),
]  # fmt: skip
OPEN = ("/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json", "/asyncapi.yaml")


@pytest.fixture(scope="module")
async def keys(new_key: KeyFactory) -> dict[Caller, dict[str, str]]:
    """Authorization headers for every caller of the matrix."""
    made = {
        "submitter": await new_key("submitter", [COMMUNE]),
        "foreign submitter": await new_key("submitter", [FOREIGN]),
        "viewer": await new_key("viewer"),
        "operator": await new_key("operator"),
    }
    headers = {who: bearer(key) for who, key in made.items()}
    return {
        "none": {},
        "wrong": {"Authorization": "Bearer lsk_000000000000_notthesecret"},
        **headers,
    }


@pytest.mark.parametrize(
    ("method", "path", "call", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX]
)
async def test_every_role_gets_what_its_role_allows(
    intake: httpx.AsyncClient,
    db: asyncpg.Pool[Any],
    keys: dict[Caller, dict[str, str]],
    method: str,
    path: str,
    call: Call,
    expected: dict[Caller, int],
) -> None:
    record = make_record(COMMUNE)
    await register(db, record)
    posted = await intake.post("/v1/records", json=record, headers=keys["submitter"])
    record_id = posted.json()["results"][0]["record_id"]
    answers = {who: (await call(intake, keys[who], record_id)) for who in CALLERS}
    got = {who: a.status_code for who, a in answers.items()}

    assert got == {"none": 401, "wrong": 401, **expected}
    for who, answer in answers.items():
        if answer.status_code >= 400:  # every refusal says why, as JSON
            body = answer.json()
            # A refused batch lists each record's reason; any other refusal has one error.
            why = (
                body["errors"][0]["errors"][0]["type"]
                if "errors" in body
                else body["error"]["code"]
            )
            assert why, who


async def test_the_matrix_covers_every_endpoint_and_the_open_ones_need_no_key(
    intake: httpx.AsyncClient,
) -> None:
    spec = (await intake.get("/openapi.json")).json()
    served = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if path.startswith("/v1/")
    }
    assert served == {(m, p) for m, p, _, _ in MATRIX}, "a /v1 endpoint without a matrix row"
    for path in OPEN:
        assert (await intake.get(path)).status_code == 200, path
