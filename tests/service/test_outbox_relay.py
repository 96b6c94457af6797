"""The outbox relay with a fake outbox and publisher: order, at-least-once, one relay at a time."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from services.intake.relay import OutboxRelay, Pending
from tests.service.fakes import FakeOutbox, FakePublisher
from tests.support import eventually

TOPIC = "land.records.submitted"


def _row(i: int, parcel: str = "07339:1:1") -> Pending:
    record = json.dumps({"commune_code": "07339", "n": i})
    return Pending(i, uuid.UUID(int=i), None, record, parcel, "07339")


def _relay(outbox: FakeOutbox, publisher: FakePublisher, batch_size: int = 100) -> OutboxRelay:
    return OutboxRelay(outbox, publisher, topic=TOPIC, batch_size=batch_size, idle_seconds=0.01)


def _numbers(publisher: FakePublisher) -> list[int]:
    return [json.loads(m.value)["n"] for m in publisher.published]


async def test_rows_are_published_in_id_order_keyed_by_parcel_then_deleted() -> None:
    outbox = FakeOutbox([_row(3, "07339:1:3"), _row(1), _row(2, "07339:1:2")])
    publisher = FakePublisher()
    assert await _relay(outbox, publisher).drain_once() == 3
    assert _numbers(publisher) == [1, 2, 3]
    assert [m.key for m in publisher.published] == [b"07339:1:1", b"07339:1:2", b"07339:1:3"]
    message = json.loads(publisher.published[0].value)
    assert message["record_id"] == str(uuid.UUID(int=1))
    assert {m.topic for m in publisher.published} == {TOPIC}
    assert outbox.rows == []


async def test_a_failed_publish_keeps_the_rows_and_the_next_drain_sends_them_again() -> None:
    outbox = FakeOutbox([_row(1), _row(2)])
    publisher = FakePublisher(fail_next=1)
    relay = _relay(outbox, publisher)
    with pytest.raises(ConnectionError):
        await relay.drain_once()
    assert [r.id for r in outbox.rows] == [1, 2]
    assert await relay.drain_once() == 2
    assert _numbers(publisher) == [1, 2]
    assert outbox.rows == []


async def test_a_drain_takes_one_batch_and_leaves_the_rest_for_the_next() -> None:
    outbox = FakeOutbox([_row(i) for i in range(1, 8)])
    publisher = FakePublisher()
    relay = _relay(outbox, publisher, batch_size=3)
    assert [await relay.drain_once() for _ in range(4)] == [3, 3, 1, 0]
    assert _numbers(publisher) == list(range(1, 8))


async def test_while_another_relay_holds_the_outbox_nothing_is_published() -> None:
    outbox = FakeOutbox([_row(1)], locked=True)
    publisher = FakePublisher()
    assert await _relay(outbox, publisher).drain_once() == -1
    assert publisher.published == []
    assert len(outbox.rows) == 1


async def test_a_bulk_drain_is_packed_and_a_trickle_is_not() -> None:
    publisher = FakePublisher()
    await _relay(FakeOutbox([_row(i) for i in range(1, 1_001)]), publisher, 1_000).drain_once()
    await _relay(FakeOutbox([_row(1)]), publisher, 1_000).drain_once()
    assert publisher.batches == [True, False]


async def test_run_retries_through_a_broker_outage_and_drains_on_notify() -> None:
    outbox = FakeOutbox([_row(1)])
    publisher = FakePublisher(fail_next=2)
    relay = _relay(outbox, publisher)
    task = asyncio.create_task(relay.run())

    async def drained() -> bool:
        return not outbox.rows

    try:
        await eventually(drained, timeout=10, interval=0.01)
        outbox.rows.append(_row(2))
        outbox.listening[0]()  # what the database's notification does
        await eventually(drained, timeout=10, interval=0.01)
    finally:
        relay.stop()
        await asyncio.wait_for(task, 5)
    assert _numbers(publisher) == [1, 2]
    assert publisher.starts >= 3  # started again after each failed attempt
