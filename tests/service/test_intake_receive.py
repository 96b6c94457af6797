"""Intake's receive with a fake ledger: answers by index, duplicates, scope, the commit."""

from __future__ import annotations

import copy
from typing import Any

import asyncpg
import orjson
import pytest

from services.intake.errors import ApiError
from services.intake.service import BatchAnswer, store
from services.intake.validation import check
from shared.auth import ApiKey
from tests.service.fakes import FakeRecords
from tests.support import make_record

KEY = ApiKey("k-07339", "submitter", frozenset({"07339"}))


async def _submit(records: FakeRecords, *bodies: dict[str, Any]) -> BatchAnswer:
    checked = check([(i, orjson.dumps(b)) for i, b in enumerate(bodies)])
    return await store(records.session, checked, KEY)


async def test_each_record_is_answered_by_its_index_and_queued_for_publishing() -> None:
    records = FakeRecords()
    outcome = await _submit(records, make_record(), make_record(), make_record())
    body = outcome.body()
    assert [r["index"] for r in body["results"]] == [0, 1, 2]
    assert {r["status"] for r in body["results"]} == {"received"}
    assert [str(i) for i in records.outbox] == [r["record_id"] for r in body["results"]]


async def test_a_resubmitted_record_is_the_same_record_and_a_changed_one_a_conflict() -> None:
    records = FakeRecords()
    first = make_record()
    (stored,) = (await _submit(records, first)).body()["results"]
    changed = copy.deepcopy(first)
    changed["parcel"]["area_m2"] = 200.0
    changed["parcel"]["land_uses"][0]["area_m2"] = 200.0
    body = (await _submit(records, first, changed)).body()
    assert body["results"] == [
        {"index": 0, "record_id": stored["record_id"], "status": "duplicate_submission"}
    ]
    assert [e["errors"][0]["type"] for e in body["errors"]] == ["submission_conflict"]
    assert len(records.outbox) == 1  # published once


async def test_a_repeat_within_one_request_points_at_the_first_copy() -> None:
    records = FakeRecords()
    record = make_record()
    body = (await _submit(records, record, record)).body()
    first, again = body["results"]
    assert (first["status"], again["status"]) == ("received", "duplicate_submission")
    assert first["record_id"] == again["record_id"]


async def test_a_commune_outside_the_keys_scope_is_refused_and_the_rest_received() -> None:
    records = FakeRecords()
    body = (await _submit(records, make_record("07340"), make_record())).body()
    assert [e["index"] for e in body["errors"]] == [0]
    assert body["errors"][0]["errors"][0]["type"] == "forbidden_commune"
    assert [r["index"] for r in body["results"]] == [1]
    assert len(records.rows) == 1


async def test_a_connection_lost_after_the_commit_still_answers_what_was_stored() -> None:
    records = FakeRecords(lose_connection=True)
    body = (await _submit(records, make_record())).body()
    assert [r["status"] for r in body["results"]] == ["received"]
    assert len(records.rows) == 1


async def test_an_unclassified_error_before_the_commit_is_a_503_with_retry_after() -> None:
    records = FakeRecords(fail_before_commit=asyncpg.InternalClientError("cannot switch state"))
    with pytest.raises(ApiError) as raised:
        await _submit(records, make_record())
    assert raised.value.status == 503
    assert raised.value.headers == {"Retry-After": "5"}
    assert records.rows == {}


async def test_a_database_outage_before_the_commit_is_passed_on_as_unavailable() -> None:
    records = FakeRecords(fail_before_commit=ConnectionRefusedError("connection refused"))
    with pytest.raises(ConnectionRefusedError):
        await _submit(records, make_record())
