"""docs/asyncapi.yaml: up to date, a valid AsyncAPI 3.0 document, and true to what is produced."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
import pytest
import yaml

from services.reconcile.outputs import output
from services.reconcile.repository import Stored
from shared.asyncapi import as_yaml, document
from shared.events import RejectedRecord
from shared.kafka.dead_letters import Origin, dead_letter
from shared.records import AcceptedPlot, SubmittedRecord, submitted_message
from shared.settings import PROJECT_ROOT
from shared.topics import Topic, Topics
from tests.support import make_record

SCHEMA = Path(__file__).parents[1] / "data" / "asyncapi" / "asyncapi-3.0.0.schema.json"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return document()


def test_the_shipped_file_is_what_the_code_generates() -> None:
    shipped = (PROJECT_ROOT / "docs" / "asyncapi.yaml").read_text(encoding="utf-8")
    assert shipped == as_yaml(), "out of date: run `landsync asyncapi --out docs/asyncapi.yaml`"


def test_it_is_a_valid_asyncapi_3_document(doc: dict[str, Any]) -> None:
    validator = jsonschema_rs.validator_for(json.loads(SCHEMA.read_text(encoding="utf-8")))
    errors = [f"{list(e.instance_path)}: {e.message[:200]}" for e in validator.iter_errors(doc)]
    assert errors == []
    assert yaml.safe_load(as_yaml()) == doc


def test_every_topic_is_a_channel_sent_and_received(doc: dict[str, Any]) -> None:
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == {t.value for t in Topic}
    for name in doc["channels"]:
        actions = {
            op["action"]
            for op in doc["operations"].values()
            if op["channel"]["$ref"] == f"#/channels/{name}"
        }
        assert actions == {"send", "receive"}, name


def _message(doc: dict[str, Any], topic: Topic) -> dict[str, Any]:
    [channel] = [c for c in doc["channels"].values() if c["address"] == topic.value]
    [ref] = channel["messages"].values()
    message: dict[str, Any] = doc["components"]["messages"][ref["$ref"].rsplit("/", 1)[1]]
    return message


def _submitted() -> tuple[SubmittedRecord, Origin]:
    value = submitted_message(orjson.dumps(make_record()).decode(), uuid.uuid4())
    record = SubmittedRecord.model_validate_json(value)
    origin = Origin(
        Topic.SUBMITTED.value, 2, 41, 1_700_000_000_000, record.parcel_key.encode(), value,
        {"record.id": str(record.record_id), "commune.code": record.commune_code},
    )  # fmt: skip
    return record, origin


def _stored(record: SubmittedRecord, decision: str, *codes: str) -> Stored:
    reasons = [{"code": c, "detail": f"{c} detail"} for c in codes]
    return Stored(record.record_id, decision, reasons, [], 1 if not codes else None, 0)


@pytest.mark.parametrize(
    ("topic", "decision", "codes", "payload"),
    [
        (Topic.ACCEPTED, "accepted", (), AcceptedPlot),
        (Topic.REJECTED, "rejected", ("incomplete", "owner_unresolved"), RejectedRecord),
        (Topic.DLQ_OWNER_UNRESOLVED, "dead_lettered", ("owner_absent",), SubmittedRecord),
        (Topic.DLQ_MORTGAGED, "dead_lettered", ("mortgaged",), SubmittedRecord),
    ],
)
def test_what_reconcile_publishes_is_what_the_document_declares(
    doc: dict[str, Any], topic: Topic, decision: str, codes: tuple[str, ...], payload: Any
) -> None:
    record, origin = _submitted()
    sent = output(_stored(record, decision, *codes), record, origin, Topics(), "landsync-reconcile")
    assert sent is not None
    assert sent.topic == topic.value
    message = _message(doc, topic)
    declared = message["headers"]["properties"]
    assert set(message["headers"]["required"]) <= set(sent.headers) <= set(declared)
    assert message["payload"] == {"$ref": f"#/components/schemas/{payload.__name__}"}
    payload.model_validate_json(
        sent.value
    )  # the value is the declared payload, unknown fields refused
    assert sent.key == record.parcel_key.encode()


@pytest.mark.parametrize("topic", [Topic.DLQ_SYNC_FAILED, Topic.DLQ_POISON])
def test_a_consumers_dead_letter_carries_the_declared_headers(
    doc: dict[str, Any], topic: Topic
) -> None:
    _, origin = _submitted()
    letter = dead_letter(
        origin, topic=topic.value, reason="sync_rejected", detail="400", consumer_group="g"
    )
    declared = _message(doc, topic)["headers"]
    assert (
        set(letter.headers)
        == set(declared["properties"])
        == set(declared["required"]) | {"dlq.replay.count"}
    )
