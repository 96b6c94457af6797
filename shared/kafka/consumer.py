"""The batch consumer every LandSync service uses: decode, dead-letter poison, process, then commit.

Ack/commit policy (why it is safe):

* Subscribers run with ``AckPolicy.MANUAL`` and auto-commit off. FastStream's default
  (``ACK_FIRST``) commits before the handler runs: at-most-once, a crash loses the batch.
* A batch is committed only after :meth:`BatchConsumer.handle` has made every output durable: the
  processor commits its database transaction and awaits the broker's acknowledgement of each
  message it publishes, and poison messages are acknowledged on ``land.dlq.poison`` first.
* ``ack()`` commits the consumed position of every assigned partition. That is exactly this batch
  (and earlier ones), because FastStream's consume loop hands out one batch at a time and waits for
  the handler before fetching the next.
* A failing batch is retried with exponential backoff and jitter (tenacity) until it succeeds or the
  service shuts down. If it gives up, the batch's partitions are rewound to their first offsets
  (``nack``) before the exception leaves the handler: FastStream goes on to the next fetch, and
  without the rewind a later commit would skip the failed records.
* Redelivery after a crash is normal, so processors must be idempotent (ledger writes keyed by
  record id, decisions stored once).

Error classes, one outcome each: a message that does not decode into the topic's model is poison
and goes to ``land.dlq.poison`` alone, never retried; every other exception is treated as transient.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter

from shared.kafka.dead_letters import Origin, dead_letter
from shared.kafka.producer import Producer
from shared.logging import get_logger
from shared.topics import Topic, Topics

M = TypeVar("M", bound=BaseModel)
log = get_logger(__name__)

UNDECODABLE = "undecodable"  # dlq.reason of a poison message (added to CONTRACT §4's codes)


@dataclass(frozen=True)
class Incoming(Generic[M]):
    """A decoded message with the coordinates it came from."""

    value: M
    origin: Origin


Processor = Callable[[Sequence[Incoming[M]]], Awaitable[None]]


class ShuttingDownError(Exception):
    """The service is stopping: the batch stays uncommitted and is redelivered later."""


def _origin(record: ConsumerRecord[Any, Any]) -> Origin:
    return Origin(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp_ms=record.timestamp,
        key=record.key,
        value=record.value or b"",
        headers={k: v.decode("utf-8", "replace") for k, v in record.headers or ()},
    )


def _utf8_headers(record: ConsumerRecord[Any, Any]) -> ConsumerRecord[Any, Any]:
    try:
        for _, value in record.headers or ():
            value.decode()
    except UnicodeDecodeError:
        headers = [(k, v.decode("utf-8", "replace").encode()) for k, v in record.headers]
        return dataclasses.replace(record, headers=headers)
    return record


async def _robust_parser(
    records: tuple[ConsumerRecord[Any, Any], ...],
    original: Callable[[tuple[ConsumerRecord[Any, Any], ...]], Awaitable[StreamMessage[Any]]],
) -> StreamMessage[Any]:
    # FastStream decodes every header as UTF-8 while parsing a batch: one message with a binary
    # header would fail the whole batch before our handler could dead-letter it.
    return await original(tuple(_utf8_headers(r) for r in records))


async def _raw_decoder(message: StreamMessage[Any], _original: Any) -> Any:
    # Bodies stay bytes: decoding is ours, per message, so one bad message is poison alone.
    return message.body


class BatchConsumer(Generic[M]):
    """Consumes one topic as one consumer group, batch by batch, with the policy above."""

    def __init__(
        self,
        broker: KafkaBroker,
        producer: Producer,
        topics: Topics,
        *,
        topic: Topic,
        group_id: str,
        model: type[M],
        processor: Processor[M],
        max_records: int = 500,
        batch_timeout_ms: int = 100,
    ) -> None:
        self._producer = producer
        self._topics = topics
        self._topic = topics.name(topic)
        self._group_id = group_id
        self._model = model
        self._processor = processor
        self._stopping = False
        broker.subscriber(
            self._topic,
            group_id=group_id,
            batch=True,
            max_records=max_records,
            batch_timeout_ms=batch_timeout_ms,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,
            parser=_robust_parser,
            decoder=_raw_decoder,
        )(self.handle)

    def stop(self) -> None:
        """Ask an in-flight retry loop to give up; the batch will be redelivered."""
        self._stopping = True

    async def handle(self, msg: KafkaMessage) -> None:
        """Process one batch; commit it only when all its outputs are durable."""
        records: tuple[ConsumerRecord[Any, Any], ...] = msg.raw_message
        batch, poison = self._decode(records)
        try:
            async for attempt in AsyncRetrying(
                wait=wait_exponential_jitter(initial=0.2, max=30),
                retry=retry_if_exception_type(Exception),
                reraise=True,
            ):
                with attempt:
                    if self._stopping:
                        raise ShuttingDownError
                    await self._deliver(batch, poison, attempt.retry_state.attempt_number)
        except BaseException:
            await msg.nack()  # rewind: FastStream moves on, and nothing may be committed past this
            raise
        await msg.ack()

    async def _deliver(
        self, batch: list[Incoming[M]], poison: list[tuple[Origin, str]], attempt: int
    ) -> None:
        if attempt > 1:
            log.warning("batch retry", topic=self._topic, attempt=attempt, size=len(batch))
        if poison:
            await self._producer.publish_all(
                [
                    dead_letter(
                        origin,
                        topic=self._topics.name(Topic.DLQ_POISON),
                        reason=UNDECODABLE,
                        detail=detail,
                        consumer_group=self._group_id,
                    )
                    for origin, detail in poison
                ],
            )
            poison.clear()  # acknowledged: a retry of the batch must not dead-letter them twice
        if batch:
            await self._processor(batch)

    def _decode(
        self, records: Sequence[ConsumerRecord[Any, Any]]
    ) -> tuple[list[Incoming[M]], list[tuple[Origin, str]]]:
        batch: list[Incoming[M]] = []
        poison: list[tuple[Origin, str]] = []
        for record in records:
            origin = _origin(record)
            try:
                batch.append(Incoming(self._model.model_validate_json(origin.value), origin))
            except ValidationError as exc:
                # include_input=False: the detail must not carry personal data into the DLQ headers
                detail = "; ".join(
                    f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                    for e in exc.errors(include_input=False, include_url=False)[:5]
                )
                poison.append((origin, detail[:1000]))
                log.warning(
                    "poison message",
                    topic=origin.topic,
                    partition=origin.partition,
                    offset=origin.offset,
                )
        return batch, poison
