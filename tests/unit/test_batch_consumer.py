"""The batch consumer's error handling: outages wait, bad records are isolated, nothing is lost."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from pydantic import BaseModel
from tenacity import wait_none

from shared.kafka.consumer import BatchConsumer, Incoming, ShuttingDownError
from shared.kafka.producer import Outgoing, Producer
from shared.settings import Settings
from shared.topics import Topic, Topics


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

    def __init__(self, values: list[bytes]) -> None:
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
                headers=[],
            )
            for i, v in enumerate(values)
        )
        self.outcome: str | None = None

    async def ack(self) -> None:
        self.outcome = "committed"

    async def nack(self) -> None:
        self.outcome = "rewound"


def _consumer(processor: Any) -> tuple[BatchConsumer[Item], RecordingProducer]:
    producer = RecordingProducer()
    consumer = BatchConsumer(
        KafkaBroker(), producer, Topics(), topic=Topic.SUBMITTED, group_id="g", model=Item,
        processor=processor, backoff=wait_none(),
    )  # fmt: skip
    return consumer, producer


def _values(*numbers: int) -> list[bytes]:
    return [orjson.dumps({"n": n}) for n in numbers]


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
    done: list[int] = []

    async def buggy(batch: Sequence[Incoming[Item]]) -> None:
        if any(m.value.n == 2 for m in batch):
            raise ValueError("a bug this record triggers")
        done.extend(m.value.n for m in batch)

    consumer, producer = _consumer(buggy)
    batch = Batch(_values(1, 2, 3))

    await consumer.handle(batch)  # type: ignore[arg-type]

    assert done == [1, 3]
    [letter] = producer.sent
    assert letter.topic == "land.dlq.poison"
    assert letter.value == orjson.dumps({"n": 2})
    assert letter.headers["dlq.reason"] == "unprocessable"
    assert letter.headers["dlq.original.offset"] == "1"
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
