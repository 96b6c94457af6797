"""The batch consumer's error handling: outages wait, bad records are isolated, nothing is lost."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from pydantic import BaseModel
from tenacity import wait_none

from shared.kafka.consumer import (
    BatchConsumer,
    GivenUp,
    Incoming,
    InvalidRecord,
    ShuttingDownError,
)
from shared.kafka.dlq_guard import DlqGuard, GuardLimits, GuardTrippedError
from shared.kafka.producer import Outgoing, Producer
from shared.settings import Settings
from shared.topics import Topic, Topics
from tests.support import eventually


class Item(BaseModel):
    n: int


class RecordingProducer(Producer):
    def __init__(self) -> None:
        super().__init__(Settings(), client_id="test")
        self.sent: list[Outgoing] = []

    async def publish_all(self, messages: Iterable[Outgoing], *, batched: bool = False) -> None:  # noqa: ARG002
        self.sent.extend(messages)


class Batch:
    """Stands in for FastStream's batch message: the records, and whether it was committed."""

    def __init__(self, values: list[bytes], record_ids: list[str] | None = None) -> None:
        ids = record_ids or [""] * len(values)
        self.raw_message = tuple(
            ConsumerRecord(
                topic="land.records.submitted",
                partition=0,
                offset=i,
                timestamp=1_700_000_000_000,
                timestamp_type=0,
                key=b"k",
                value=v,
                checksum=None,
                serialized_key_size=1,
                serialized_value_size=len(v),
                headers=[("record.id", ids[i].encode())] if ids[i] else [],
            )
            for i, v in enumerate(values)
        )
        self.outcome: str | None = None

    async def ack(self) -> None:
        self.outcome = "committed"

    async def nack(self) -> None:
        self.outcome = "rewound"


def _consumer(
    processor: Any, give_up: Any = None, guard: GuardLimits | None = None
) -> tuple[BatchConsumer[Item], RecordingProducer]:
    producer = RecordingProducer()
    consumer = BatchConsumer(
        KafkaBroker(), producer, Topics(), topic=Topic.SUBMITTED, group_id="g", model=Item,
        processor=processor, backoff=wait_none(), give_up=give_up, guard=guard,
    )  # fmt: skip
    return consumer, producer


def _values(*numbers: int) -> list[bytes]:
    return [orjson.dumps({"n": n}) for n in numbers]


class _Buggy:
    """A processor with a bug the records numbered ``bad`` trigger: it raises for any batch that
    holds one, and notes the numbers of the batches it processed and how many calls it took."""

    def __init__(self, *bad: int) -> None:
        self.bad = set(bad)
        self.done: list[int] = []
        self.calls = 0

    async def __call__(self, batch: Sequence[Incoming[Item]]) -> None:
        self.calls += 1
        if any(m.value.n in self.bad for m in batch):
            raise ValueError("a bug these records trigger")
        self.done.extend(m.value.n for m in batch)


async def test_an_outage_is_waited_out_and_the_batch_committed_once_it_passes() -> None:
    calls: list[int] = []

    async def flaky(batch: Sequence[Incoming[Item]]) -> None:
        calls.append(len(batch))
        if len(calls) < 6:
            raise ConnectionRefusedError  # the database is restarting

    consumer, producer = _consumer(flaky)
    batch = Batch(_values(1, 2, 3))

    await consumer.handle(batch)  # type: ignore[arg-type]

    assert calls == [3] * 6  # never split: an outage says nothing about the records
    assert batch.outcome == "committed"
    assert producer.sent == []


async def test_a_record_that_always_fails_is_dead_lettered_and_the_others_go_through() -> None:
    buggy = _Buggy(2)
    consumer, producer = _consumer(buggy)
    batch = Batch(_values(1, 2, 3))

    await consumer.handle(batch)  # type: ignore[arg-type]

    assert buggy.done == [1, 3]
    [letter] = producer.sent
    assert letter.topic == "land.dlq.poison"
    assert letter.value == orjson.dumps({"n": 2})
    assert letter.headers["dlq.reason"] == "unprocessable"
    assert letter.headers["dlq.original.offset"] == "1"
    assert batch.outcome == "committed"


async def test_records_a_processor_names_invalid_are_dead_lettered_in_one_call_each() -> None:
    calls: list[list[int]] = []

    async def strict(batch: Sequence[Incoming[Item]]) -> None:
        calls.append([m.value.n for m in batch])
        bad = [m for m in batch if m.value.n % 4 == 0]
        if bad:
            raise InvalidRecord(bad, "n is a multiple of four")

    consumer, producer = _consumer(strict)
    batch = Batch(_values(*range(1, 13)))

    await consumer.handle(batch)  # type: ignore[arg-type]

    # Named at once, no search by halves: the whole batch, then the rest of it.
    assert calls == [list(range(1, 13)), [1, 2, 3, 5, 6, 7, 9, 10, 11]]
    assert [orjson.loads(letter.value)["n"] for letter in producer.sent] == [4, 8, 12]
    assert {letter.headers["dlq.detail"] for letter in producer.sent} == {"n is a multiple of four"}
    assert batch.outcome == "committed"


async def test_an_undecodable_message_is_dead_lettered_alone() -> None:
    done: list[int] = []

    async def fine(batch: Sequence[Incoming[Item]]) -> None:
        done.extend(m.value.n for m in batch)

    consumer, producer = _consumer(fine)
    batch = Batch([*_values(1), b"not json", *_values(3)])

    await consumer.handle(batch)  # type: ignore[arg-type]

    assert done == [1, 3]
    assert [m.headers["dlq.reason"] for m in producer.sent] == ["undecodable"]


async def test_a_stop_during_an_outage_rewinds_the_batch_instead_of_committing() -> None:
    async def down(batch: Sequence[Incoming[Item]]) -> None:
        consumer.stop()
        raise ConnectionRefusedError

    consumer, _ = _consumer(down)
    batch = Batch(_values(1))

    with contextlib.suppress(ConnectionRefusedError, ShuttingDownError):
        await consumer.handle(batch)  # type: ignore[arg-type]

    assert batch.outcome == "rewound"


async def test_a_few_bad_records_in_a_big_batch_are_isolated_in_few_calls_and_in_order() -> None:
    bad = {17, 500, 501, 998}
    buggy = _Buggy(*bad)
    consumer, producer = _consumer(buggy)
    batch = Batch(_values(*range(1000)))

    await consumer.handle(batch)  # type: ignore[arg-type]

    assert buggy.done == [n for n in range(1000) if n not in bad]  # every good one, in order
    assert sorted(orjson.loads(m.value)["n"] for m in producer.sent) == sorted(bad)
    # Record by record would be 1,000 calls or more; halving costs a few per bad record.
    assert buggy.calls < 100
    assert batch.outcome == "committed"


async def test_the_records_of_dead_letters_are_given_up_after_their_letters_are_sent() -> None:
    ids = [str(uuid4()) for _ in range(3)]
    given_up: list[GivenUp] = []
    sent_before: list[int] = []

    async def give_up(items: Sequence[GivenUp]) -> None:
        sent_before.append(len(producer.sent))
        given_up.extend(items)

    consumer, producer = _consumer(_Buggy(2), give_up)
    batch = Batch([*_values(1, 2), b"not json"], record_ids=ids)

    await consumer.handle(batch)  # type: ignore[arg-type]

    assert {(g.record_id, g.reason) for g in given_up} == {
        (UUID(ids[1]), "unprocessable"),
        (UUID(ids[2]), "undecodable"),
    }
    assert sent_before == [1, 2]  # each record given up only once its dead letter was sent
    assert batch.outcome == "committed"


async def test_a_processor_failing_on_every_record_stops_at_the_guard_and_resumes_once_fixed() -> (
    None
):
    fixed = False
    done: list[int] = []

    async def broken_deploy(batch: Sequence[Incoming[Item]]) -> None:
        if not fixed:
            raise KeyError("a bug met by every record")
        done.extend(m.value.n for m in batch)

    consumer, producer = _consumer(broken_deploy, guard=GuardLimits(max_run=20))
    batch = Batch(_values(*range(500)))

    handling = asyncio.create_task(consumer.handle(batch))  # type: ignore[arg-type]

    async def tripped() -> bool:
        return consumer.tripped is not None

    await eventually(tripped, timeout=10, interval=0)
    await asyncio.sleep(0.05)  # it keeps retrying, and dead-letters nothing more
    poisoned = len(producer.sent)
    fixed = True
    await asyncio.wait_for(handling, 10)

    assert poisoned == 20  # not 500: the guard stopped the drain
    assert len(producer.sent) == 20
    assert batch.outcome == "committed"
    assert done == list(range(20, 500))  # the rest, once fixed; the dead-lettered not again
    assert consumer.tripped is None


def test_the_guard_trips_on_the_share_of_dead_letters_in_its_window() -> None:
    guard = DlqGuard(GuardLimits(max_run=1000, max_ratio=0.5, window=100, min_seen=50))
    partition = ("t", 0)
    for _ in range(30):
        guard.processed([partition])
        guard.dead_letter([partition])  # one in two: at the limit, not over it

    with pytest.raises(GuardTrippedError):
        guard.dead_letter([partition])  # 31 of 61
    assert guard.tripped is not None
    assert "of the last" in guard.tripped
