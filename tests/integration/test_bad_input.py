"""Bad input gets a 4xx with a JSON body, and nothing of it is stored or published."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from shared.settings import Settings
from shared.topics import Topic
from tests.conftest import KeyFactory
from tests.support import (
    COMMUNE,
    bearer,
    make_record,
    post_ndjson,
    read_to_end,
    read_topic,
    record_id_of,
    submit,
    value_of,
)

MARK = f"bad-{uuid.uuid4().hex[:8]}"  # every submission id used here starts with it


def _record(**overrides: Any) -> dict[str, Any]:
    record = make_record(COMMUNE, **overrides)
    record["submission_id"] = f"{MARK}-{record['submission_id']}"
    return record


def _with_parcel(**changes: Any) -> dict[str, Any]:
    record = _record()
    record["parcel"] = {**record["parcel"], **changes}
    return record


def _json(doc: Any) -> tuple[bytes, str]:
    return orjson.dumps(doc), "application/json"


CASES: dict[str, Callable[[Settings], tuple[bytes, str]]] = {
    "not json": lambda _: (b'{"submission_id": "x", ', "application/json"),
    "json but a string": lambda _: _json("hello"),
    "wrong type": lambda _: _json(_with_parcel(map_sheet="12")),
    "missing parcel": lambda _: _json({k: v for k, v in _record().items() if k != "parcel"}),
    "unknown enum": lambda _: _json(_record(collection_status="gone_fishing")),
    "unknown field": lambda _: _json(_record(colour="red")),
    "negative area": lambda _: _json(_with_parcel(area_m2=-5.0)),
    "invalid date": lambda _: _json(
        _record(certificate={"serial": "CK 1", "issued_on": "2016-13-40"})
    ),
    "date as number": lambda _: _json(_record(certificate={"issued_on": 1463011200})),
    "bad commune code": lambda _: _json(_record(commune_code="7339")),
    "oversize body": lambda s: (b"[" + b" " * (s.max_body_bytes + 10) + b"]", "application/json"),
    "array over the limit": lambda s: _json([_record() for _ in range(s.max_batch_records + 1)]),
    "empty body": lambda _: (b"", "application/json"),
    "empty array": lambda _: _json([]),
    "wrong content type": lambda _: (orjson.dumps(_record()), "text/plain"),
    "no content type": lambda _: (orjson.dumps(_record()), ""),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
async def test_bad_input_gets_a_4xx_with_a_json_body_and_nothing_is_stored(
    intake: httpx.AsyncClient,
    db: asyncpg.Pool[Any],
    settings: Settings,
    key: str,
    case: str,
) -> None:
    body, content_type = CASES[case](settings)
    headers = bearer(key)
    if content_type:
        headers["Content-Type"] = content_type

    response = await intake.post("/v1/records", content=body, headers=headers)

    assert 400 <= response.status_code < 500, response.text[:500]
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()  # a body that says what is wrong
    stored = await db.fetchval(
        "SELECT count(*) FROM records WHERE submission_id LIKE $1", f"{MARK}%"
    )
    assert stored == 0


async def test_bad_ndjson_lines_are_refused_and_an_empty_stream_is_400(
    intake: httpx.AsyncClient, key: str
) -> None:
    empty = await post_ndjson(intake, key, b"\n\n")
    bad = await post_ndjson(intake, key, orjson.dumps(_with_parcel(area_m2=-1.0)) + b"\n[1,2]\n")

    assert empty.status_code == 400
    assert bad.status_code == 422
    assert [e["index"] for e in bad.json()["errors"]] == [0, 1]


async def test_no_bad_record_ever_reached_the_topic(
    settings: Settings, intake: httpx.AsyncClient, new_key: KeyFactory
) -> None:
    # Runs after the matrix above (file order). A good record posted now is published after
    # anything the matrix could have queued, so once it is on the topic the check is complete.
    key = await new_key("submitter", [COMMUNE])
    [sentinel] = await submit(intake, key, make_record(COMMUNE))

    topic = settings.topics.name(Topic.SUBMITTED)
    await read_topic(
        settings.bootstrap,
        topic,
        until=lambda ms: any(record_id_of(m) == sentinel for m in ms),
    )
    messages = await read_to_end(settings.bootstrap, topic)

    values = [value_of(m) for m in messages]
    assert any(v.get("record_id") == sentinel for v in values)
    assert not [v for v in values if v.get("submission_id", "").startswith(MARK)]
