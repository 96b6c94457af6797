"""API keys: 401 without a valid key, 403 outside the key's role or communes, per record too."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import KeyFactory
from tests.support import COMMUNE, bearer, make_record, submit

FOREIGN = "09187"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer lsk_000000000000_wrongsecret"},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
    ids=["no key", "unknown key", "malformed key", "wrong scheme"],
)
async def test_a_request_without_a_valid_key_is_401_with_a_json_body(
    intake: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await intake.post("/v1/records", json=make_record(COMMUNE), headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_right_key_id_with_a_wrong_secret_is_401(
    intake: httpx.AsyncClient, key: str
) -> None:
    forged = key[: key.rindex("_") + 1] + "x" * 20

    response = await intake.post("/v1/records", json=make_record(COMMUNE), headers=bearer(forged))

    assert response.status_code == 401


async def test_a_record_of_a_foreign_commune_is_403(
    intake: httpx.AsyncClient, db: asyncpg.Pool[Any], key: str
) -> None:
    record = make_record(FOREIGN)

    response = await intake.post("/v1/records", json=record, headers=bearer(key))

    assert response.status_code == 403
    assert response.json()["errors"][0]["errors"][0]["type"] == "forbidden_commune"
    stored = await db.fetchval(
        "SELECT count(*) FROM records WHERE submission_id = $1", record["submission_id"]
    )
    assert stored == 0


async def test_foreign_records_in_a_batch_are_refused_one_by_one(
    intake: httpx.AsyncClient, db: asyncpg.Pool[Any], key: str
) -> None:
    batch = [make_record(COMMUNE), make_record(FOREIGN), make_record(COMMUNE)]

    response = await intake.post("/v1/records", json=batch, headers=bearer(key))

    assert response.status_code == 202
    body = response.json()
    assert [r["index"] for r in body["results"]] == [0, 2]
    assert [(e["index"], e["errors"][0]["type"]) for e in body["errors"]] == [
        (1, "forbidden_commune")
    ]
    stored = await db.fetchval(
        "SELECT count(*) FROM records WHERE submission_id = $1", batch[1]["submission_id"]
    )
    assert stored == 0


@pytest.mark.parametrize("role", ["viewer", "operator"])
async def test_only_submitters_may_post_records(
    intake: httpx.AsyncClient, new_key: KeyFactory, role: str
) -> None:
    key = await new_key(role, [])

    response = await intake.post("/v1/records", json=make_record(COMMUNE), headers=bearer(key))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_role"


async def test_a_submitter_may_not_read_another_communes_record(
    intake: httpx.AsyncClient, new_key: KeyFactory
) -> None:
    owner = await new_key("submitter", [COMMUNE])
    stranger = await new_key("submitter", [FOREIGN])
    viewer = await new_key("viewer")
    [record_id] = await submit(intake, owner, make_record(COMMUNE))
    path = f"/v1/records/{record_id}"

    assert (await intake.get(path, headers=bearer(stranger))).status_code == 403
    assert (await intake.get(path, headers=bearer(viewer))).status_code == 200
    assert (await intake.get(path)).status_code == 401


async def test_health_readiness_and_metrics_need_no_key(intake: httpx.AsyncClient) -> None:
    assert (await intake.get("/healthz")).status_code == 200
    ready = await intake.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "broker": True, "relay": True}
    metrics = await intake.get("/metrics")
    assert metrics.status_code == 200
    assert "landsync_intake_records_total" in metrics.text
