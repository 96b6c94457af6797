"""The reconciler with a fake ledger and publisher: store, publish, mark; redeliveries; order."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import orjson
import pytest

from services.reconcile.facts import CertificateRow, Facts, Resident
from services.reconcile.service import Message, Reconciler
from shared.cases import CaseState
from shared.kafka.consumer import Incoming
from shared.kafka.dead_letters import Origin
from shared.normalize import fold_name, serial_key
from shared.records import SubmittedRecord
from shared.states import DecisionState
from shared.topics import Topic, Topics
from tests.service.fakes import FakeLedger, FakePublisher
from tests.support import make_record

TOPICS = Topics()
SUBMITTED = TOPICS.name(Topic.SUBMITTED)
AN = Resident("024085001234", None, "Nguyễn Văn An", fold_name("Nguyễn Văn An"),
              date(1985, 3, 2), "male", "alive")  # fmt: skip


def _certificate(record: dict[str, Any], **changes: Any) -> CertificateRow:
    serial = record["certificate"]["serial"]
    row: dict[str, Any] = {
        "serial": serial, "serial_key": serial_key(serial), "commune_code": "07339",
        "map_sheet": record["parcel"]["map_sheet"], "parcel_no": record["parcel"]["parcel_no"],
        "holder_ids": (AN.personal_id,), "status": "valid",
        "mortgage_registered_on": None, "mortgage_released_on": None,
    }  # fmt: skip
    return CertificateRow(**(row | changes))


def _message(record: dict[str, Any], offset: int, **headers: str) -> Message:
    value = orjson.dumps({**record, "record_id": str(uuid.uuid4())})
    submitted = SubmittedRecord.model_validate_json(value)
    origin = Origin(SUBMITTED, offset % 3, offset, 0, submitted.parcel_key.encode(), value, headers)
    return Incoming(submitted, origin)


def _setup(*records: dict[str, Any], mortgaged: bool = False) -> tuple[FakeLedger, list[Message]]:
    ledger = FakeLedger()
    changes = {"mortgage_registered_on": date(2020, 1, 1)} if mortgaged else {}
    ledger.facts = Facts.index([AN], [_certificate(r, **changes) for r in records])
    batch = [_message(r, i) for i, r in enumerate(records)]
    for m in batch:
        ledger.receive(m.value.record_id)
    return ledger, batch


def _reconciler(ledger: FakeLedger, publisher: FakePublisher) -> Reconciler:
    return Reconciler(ledger, publisher, TOPICS, "landsync-reconcile")


async def test_a_batch_is_stored_then_published_then_marked_under_its_partitions_lock() -> None:
    ledger, batch = _setup(make_record(), make_record(), make_record())
    publisher = FakePublisher(events=ledger.events)
    await _reconciler(ledger, publisher).process(batch)
    assert ledger.events == ["store 3", "publish 3", "mark 3"]
    assert ledger.locked_partitions == [{(SUBMITTED, 0), (SUBMITTED, 1), (SUBMITTED, 2)}]
    assert {m.topic for m in publisher.published} == {TOPICS.name(Topic.ACCEPTED)}
    assert all(s.outcome == DecisionState.ACCEPTED and s.published for s in ledger.records.values())
    assert {c.state for c in ledger.cases.values()} == {CaseState.CLEANED}


async def test_when_publishing_fails_the_decisions_stay_and_the_redelivery_only_resends() -> None:
    ledger, batch = _setup(make_record(), make_record())
    publisher = FakePublisher(fail_next=1, events=ledger.events)
    reconciler = _reconciler(ledger, publisher)
    with pytest.raises(ConnectionError):
        await reconciler.process(batch)
    assert ledger.events == ["store 2"]  # decided, not marked
    assert not any(s.published for s in ledger.records.values())
    decided = dict(ledger.records)
    await reconciler.process(batch)  # the consumer did not commit: the batch comes again
    assert ledger.events == ["store 2", "store 0", "publish 2", "mark 2"]  # sent, not re-decided
    assert {i: s.outcome for i, s in ledger.records.items()} == {
        i: s.outcome for i, s in decided.items()
    }
    sent = [orjson.loads(m.value)["record_id"] for m in publisher.published]
    assert sorted(sent) == sorted(str(m.value.record_id) for m in batch)


async def test_a_redelivery_after_marking_sends_nothing() -> None:
    ledger, batch = _setup(make_record())
    publisher = FakePublisher()
    reconciler = _reconciler(ledger, publisher)
    await reconciler.process(batch)
    await reconciler.process(batch)
    assert len(publisher.published) == 1


async def test_a_parcel_accepted_earlier_in_a_batch_counts_for_its_later_records() -> None:
    first = make_record()
    again = {**first, "submission_id": f"{first['submission_id']}-again"}
    changed = {**first, "submission_id": f"{first['submission_id']}-changed"}
    changed["parcel"] = {**first["parcel"], "area_m2": 120.0}
    changed["parcel"]["land_uses"] = [{**first["parcel"]["land_uses"][0], "area_m2": 120.0}]
    ledger, batch = _setup(first, again, changed)
    publisher = FakePublisher()
    await _reconciler(ledger, publisher).process(batch)
    states = [ledger.records[m.value.record_id] for m in batch]
    assert [s.outcome for s in states] == ["accepted", "duplicate", "rejected"]
    assert [r["code"] for r in states[2].reasons] == ["duplicate_conflict"]
    assert [m.topic for m in publisher.published] == [
        TOPICS.name(Topic.ACCEPTED),
        TOPICS.name(Topic.REJECTED),
    ]
    assert len({m.key for m in publisher.published}) == 1  # one parcel, one partition
    assert ledger.parcels[batch[0].value.parcel_key].record_id == batch[0].value.record_id


async def test_a_mortgaged_plot_is_dead_lettered_and_decided_again_only_when_replayed() -> None:
    record = make_record()
    ledger, batch = _setup(record, mortgaged=True)
    publisher = FakePublisher()
    reconciler = _reconciler(ledger, publisher)
    await reconciler.process(batch)
    (letter,) = publisher.published
    assert letter.topic == TOPICS.name(Topic.DLQ_MORTGAGED)
    assert letter.headers["dlq.reason"] == "mortgaged"
    record_id = batch[0].value.record_id
    assert ledger.records[record_id].outcome == DecisionState.DEAD_LETTERED

    ledger.facts = Facts.index([AN], [_certificate(record)])  # the mortgage is released
    await reconciler.process(batch)  # the same message again: not a replay
    assert len(publisher.published) == 1
    replayed = _replayed(batch[0])
    await reconciler.process([replayed])
    assert ledger.records[record_id].outcome == DecisionState.ACCEPTED
    assert publisher.published[-1].topic == TOPICS.name(Topic.ACCEPTED)


def _replayed(message: Message) -> Message:
    origin = message.origin
    headers = {**origin.headers, "dlq.replay.count": "1"}
    replay = Origin(origin.topic, origin.partition, origin.offset + 100, 0, origin.key,
                    origin.value, headers)  # fmt: skip
    return Incoming(message.value, replay)


async def test_a_record_missing_from_the_ledger_is_skipped_and_the_rest_decided() -> None:
    ledger, batch = _setup(make_record(), make_record())
    del ledger.records[batch[0].value.record_id]
    publisher = FakePublisher()
    await _reconciler(ledger, publisher).process(batch)
    assert [orjson.loads(m.value)["record_id"] for m in publisher.published] == [
        str(batch[1].value.record_id)
    ]
