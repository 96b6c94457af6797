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
* A batch failing on an outage (database, broker) is retried with exponential backoff and jitter
  (tenacity) for as long as the outage lasts. A batch failing for another reason is split in two
  at once, without waiting, and each half processed in order, splitting again where it fails: a
  few bad records in a batch of thousands cost a few dozen processor calls, milliseconds, and the
  good records around them go through. A record that fails alone goes to
  ``land.dlq.poison`` as ``unprocessable``, so one bad record never blocks its partition.
* A dead-lettered poison message still ends its record: once the dead letter is acknowledged,
  the service's ``give_up`` hook records the final state (reconcile: ``dead_lettered`` with the
  poison reason), before the offsets are committed. If the handler gives up (the
  service is stopping), the batch's partitions are rewound to their first offsets (``nack``)
  before the exception leaves it: FastStream goes on to the next fetch, and without the rewind a
  later commit would skip the failed records.
* Redelivery after a crash is normal, so processors must be idempotent (ledger writes keyed by
  record id, decisions stored once).

Error classes, one outcome each: a message that does not decode into the topic's model is poison
and goes to ``land.dlq.poison`` alone, never retried; an outage (``shared.transient``) is waited
out; a processor that knows which records are bad raises :class:`InvalidRecord` naming them,
and they are dead-lettered as ``unprocessable`` at once, without the search; any other failure
is isolated to its record by splitting the batch, then dead-lettered as ``unprocessable``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar
from uuid import UUID

from aiokafka import ConsumerRecord, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from prometheus_client import Gauge
from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, RetryCallState
from tenacity.wait import wait_base

from shared.kafka.dead_letters import Origin, dead_letter
from shared.kafka.dlq_guard import DlqGuard, GuardLimits, GuardTrippedError
from shared.kafka.producer import Producer, count_from_zero
from shared.logging import get_logger
from shared.reasons import PoisonReason
from shared.topics import Topic, Topics
from shared.transient import is_transient, outage_wait

M = TypeVar("M", bound=BaseModel)
LAG = Gauge(
    "landsync_consumer_lag_messages",
    "Messages not yet consumed behind a partition's end, after the group's last batch.",
    ["topic", "partition", "group"],
    # With several worker processes a partition moves between them: the latest figure is right.
    multiprocess_mode="livemostrecent",
)
GUARD_TRIPPED = Gauge(
    "landsync_consumer_dlq_guard_tripped",
    "1 while a consumer has stopped instead of dead-lettering more (shared/kafka/dlq_guard.py).",
    ["topic", "group"],
    multiprocess_mode="livemax",
)
log = get_logger(__name__)


class InvalidRecord(Exception):  # noqa: N818 - it names the record, as the glossary does
    """Raised by a processor: these records are bad (not the code, not an outage).

    The consumer dead-letters them (``unprocessable``, with ``detail``) and processes the rest of
    the batch again; the dead-letter guard counts them like any other.
    """

    def __init__(self, records: Sequence[Incoming[Any]], detail: str) -> None:
        super().__init__(detail)
        self.records = list(records)
        self.detail = detail


def _waited_out(error: BaseException) -> bool:
    """An outage, or a tripped dead-letter guard: both end by waiting, never by a dead letter."""
    return is_transient(error) or isinstance(error, GuardTrippedError)


@dataclass(frozen=True)
class Incoming(Generic[M]):
    """A decoded message with the coordinates it came from."""

    value: M
    origin: Origin


Processor = Callable[[Sequence[Incoming[M]]], Awaitable[None]]


@dataclass(frozen=True)
class GivenUp:
    """A message dead-lettered as poison: its record (when known), the reason and the detail."""

    record_id: UUID | None
    reason: PoisonReason
    detail: str


#: Records the final state of records whose messages went to ``land.dlq.poison``.
GiveUp = Callable[[Sequence[GivenUp]], Awaitable[None]]


def _record_id(origin: Origin) -> UUID | None:
    """The record a message is about, from its ``record.id`` header."""
    try:
        return UUID(origin.headers.get("record.id", ""))
    except ValueError:
        return None


class ShuttingDownError(Exception):
    """The service is stopping: the batch stays uncommitted and is redelivered later."""


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


async def _raw_decoder(message: StreamMessage[Any], _original: Any) -> Any:  # noqa: ANN401 - FastStream's and aiokafka's callback types
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
        backoff: wait_base | None = None,
        members: int = 1,
        max_poll_interval_ms: int = 300_000,
        give_up: GiveUp | None = None,
        guard: GuardLimits | None = None,
    ) -> None:
        self._producer = producer
        self._give_up = give_up
        self._guard = DlqGuard(guard or GuardLimits())
        self._topics = topics
        self._topic = topics.name(topic)
        count_from_zero(topics, [Topic.DLQ_POISON])  # every consumer may give a message up
        self._group_id = group_id
        self._model = model
        self._processor = processor
        self._stopping = False
        self._last_error: Exception | None = None
        self._backoff = backoff or outage_wait(longest=30)
        # Several members of the group in one process: each has its own partitions, its own
        # sequential batches and its own commits (a commit covers only its member's partitions),
        # so one can compute while another waits on the database.
        for _ in range(members):
            broker.subscriber(
                self._topic,
                group_id=group_id,
                batch=True,
                max_records=max_records,
                batch_timeout_ms=batch_timeout_ms,
                auto_offset_reset="earliest",
                ack_policy=AckPolicy.MANUAL,
                # How long one batch may take before the group gives its partitions to another
                # member: a batch waiting out an outage must not be taken away and redone.
                max_poll_interval_ms=max_poll_interval_ms,
                parser=_robust_parser,
                decoder=_raw_decoder,
            )(self.handle)

    def stop(self) -> None:
        """Ask an in-flight retry loop to give up; the batch will be redelivered."""
        self._stopping = True

    @property
    def tripped(self) -> str | None:
        """Why the dead-letter guard has stopped this consumer, or None while it consumes."""
        return self._guard.tripped

    async def handle(self, msg: KafkaMessage) -> None:
        """Process one batch; commit it only when all its outputs are durable."""
        records: tuple[ConsumerRecord[Any, Any], ...] = msg.raw_message
        batch, poison = self._decode(records)
        try:
            # A tripped guard is waited out like an outage: the same work is tried again, with
            # backoff, until it succeeds (the cause fixed, or the service redeployed).
            if poison:
                await self._retrying(
                    partial(self._dead_letter, poison, PoisonReason.UNDECODABLE), limit=1
                )
            if batch:
                # Records dead-lettered by an earlier try of this batch are not tried again: their
                # letters are sent, and a try that skips them must not pass for a success.
                given_up: set[tuple[int, int]] = set()
                await self._retrying(partial(self._process, batch, given_up), limit=1)
        except BaseException:
            await msg.nack()  # rewind: FastStream moves on, and nothing may be committed past this
            raise
        await msg.ack()
        self._record_lag(getattr(msg, "consumer", None), records)

    def _record_lag(self, consumer: Any, records: Sequence[ConsumerRecord[Any, Any]]) -> None:  # noqa: ANN401 - FastStream's and aiokafka's callback types
        """Messages behind the end of each partition just consumed, as the broker last said."""
        if consumer is None or not hasattr(consumer, "highwater"):
            return
        last: dict[int, int] = {}
        for r in records:
            last[r.partition] = max(last.get(r.partition, -1), r.offset)
        assigned = consumer.assignment()
        for partition, offset in last.items():
            tp = TopicPartition(self._topic, partition)
            if tp not in assigned:  # lost in a rebalance while the batch was processed
                continue
            highwater = consumer.highwater(tp)
            if highwater is not None:
                LAG.labels(self._topic, str(partition), self._group_id).set(highwater - offset - 1)

    async def _process(self, batch: list[Incoming[M]], given_up: set[tuple[int, int]]) -> None:
        """The whole batch; where it fails for a reason other than an outage, its halves.

        Splitting goes on down to single records; one that fails alone is dead-lettered as
        ``unprocessable`` (and its (partition, offset) added to ``given_up``): a bug met by one
        record must not stop its partition for ever, nor drag its batch down with it. Halves run
        in order, so each parcel's records stay in order.
        """
        batch = [m for m in batch if (m.origin.partition, m.origin.offset) not in given_up]
        if not batch:
            return
        try:
            succeeded = await self._succeeds(batch)
        except InvalidRecord as bad:
            named = {(m.origin.partition, m.origin.offset) for m in bad.records}
            named &= {(m.origin.partition, m.origin.offset) for m in batch}
            if named:
                log.warning("records invalid", topic=self._topic, count=len(named))
                at = {(m.origin.partition, m.origin.offset): m.origin for m in batch}
                origins = [at[position] for position in sorted(named)]
                await self._dead_letter([(o, bad.detail[:1000]) for o in origins],
                                        PoisonReason.UNPROCESSABLE)  # fmt: skip
                given_up |= named
                await self._process(batch, given_up)
                return
            self._last_error, succeeded = bad, False  # it named none of these: search as usual
        if succeeded:
            self._guard.processed((m.origin.topic, m.origin.partition) for m in batch)
            GUARD_TRIPPED.labels(self._topic, self._group_id).set(0)
            return
        if len(batch) > 1:
            log.warning("batch failing; splitting it", topic=self._topic, size=len(batch))
            middle = len(batch) // 2
            await self._process(batch[:middle], given_up)
            await self._process(batch[middle:], given_up)
            return
        [item] = batch
        log.error("record unprocessable", topic=self._topic, offset=item.origin.offset)
        detail = f"{type(self._last_error).__name__} while processing"
        await self._dead_letter([(item.origin, detail)], PoisonReason.UNPROCESSABLE)
        given_up.add((item.origin.partition, item.origin.offset))

    async def _succeeds(self, batch: list[Incoming[M]]) -> bool:
        """Whether the processor handled ``batch``; outages are waited out, not counted.

        One failure is enough: a record failing alone has failed in every batch it was in.
        """
        try:
            await self._retrying(partial(self._processor, batch), limit=1)
        except (ShuttingDownError, GuardTrippedError, InvalidRecord):
            raise
        except Exception as exc:
            if len(batch) == 1:
                log.exception("record failing", topic=self._topic, offset=batch[0].origin.offset)
            self._last_error = exc
            return False
        return True

    async def _retrying(
        self, work: Callable[[], Awaitable[None]], limit: int | None = None
    ) -> None:
        """Run ``work`` until it succeeds or the service stops.

        Outages are waited out with backoff and jitter for as long as they last; other failures
        are tried ``limit`` times (None: for ever), then raised.
        """

        def again(state: RetryCallState) -> bool:
            error = state.outcome.exception() if state.outcome else None
            if error is None or isinstance(error, ShuttingDownError) or self._stopping:
                return False
            if state.attempt_number > 1:
                log.warning("retrying", topic=self._topic, attempt=state.attempt_number,
                            error=type(error).__name__)  # fmt: skip
            return _waited_out(error) or limit is None or state.attempt_number < limit

        def wait(state: RetryCallState) -> float:
            # Only an outage is worth waiting for; a data error is retried (or split) at once.
            error = state.outcome.exception() if state.outcome else None
            return self._backoff(state) if error is not None and _waited_out(error) else 0.0

        async for attempt in AsyncRetrying(wait=wait, retry=again, reraise=True):
            with attempt:
                if self._stopping:
                    raise ShuttingDownError
                await work()

    async def _dead_letter(self, items: list[tuple[Origin, str]], reason: PoisonReason) -> None:
        """Publish the dead letters, then let the service record their records' final state.

        Raises GuardTrippedError, publishing nothing, when they would be one too many.
        """
        try:
            self._guard.dead_letter((o.topic, o.partition) for o, _ in items)
        except GuardTrippedError as exc:
            GUARD_TRIPPED.labels(self._topic, self._group_id).set(1)
            log.error(  # noqa: TRY400 - a decision of ours, not a failure: no traceback
                "dead-letter guard tripped; consuming stops until records go through",
                topic=self._topic,
                why=str(exc),
            )
            raise
        letters = [
            dead_letter(
                origin,
                topic=self._topics.name(Topic.DLQ_POISON),
                reason=reason,
                detail=detail,
                consumer_group=self._group_id,
            )
            for origin, detail in items
        ]
        await self._retrying(partial(self._producer.publish_all, letters))
        if self._give_up is not None:
            given_up = [GivenUp(_record_id(origin), reason, detail) for origin, detail in items]
            await self._retrying(partial(self._give_up, given_up))

    def _decode(
        self, records: Sequence[ConsumerRecord[Any, Any]]
    ) -> tuple[list[Incoming[M]], list[tuple[Origin, str]]]:
        batch: list[Incoming[M]] = []
        poison: list[tuple[Origin, str]] = []
        for record in records:
            origin = Origin.of(record)
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
