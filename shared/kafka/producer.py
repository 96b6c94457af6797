"""The producer every LandSync service publishes with: idempotent, ``acks=all``, keyed, awaited.

Why aiokafka directly and not FastStream's ``broker.publish``: per message, FastStream runs its
middleware stack and makes a correlation id, which measured as about 15 % of the reconcile
service's CPU; and its ``publish_batch`` sends a whole batch to one partition, ignoring keys,
which would break per-parcel ordering. Subscribing stays with FastStream.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from prometheus_client import Counter as MetricCounter

from shared.kafka.security import client_options
from shared.reasons import DEAD_LETTER_REASONS
from shared.settings import CommonSettings
from shared.topics import Topic, Topics


@dataclass(frozen=True)
class Outgoing:
    """A message to publish: its key keeps every record of a parcel on one partition, in order."""

    topic: str
    value: bytes
    key: bytes | None
    headers: Mapping[str, str] = field(default_factory=dict)


#: How every LandSync producer acknowledges and batches; ``landsync bench intake``'s bare
#: ceiling is configured the same, so the two differ only in what LandSync adds.
TUNING: Final[Mapping[str, object]] = {
    # Idempotence stops a retried send from writing a duplicate; it implies acks=all.
    "enable_idempotence": True,
    "acks": "all",
    "linger_ms": 5,
    "max_batch_size": 1024 * 1024,
}
_PARTITIONER = DefaultPartitioner()  # what AIOKafkaProducer uses when none is configured

PUBLISHED = MetricCounter(
    "landsync_kafka_messages_published_total",
    "Messages published and acknowledged by all in-sync replicas.",
    ["topic"],
)
DEAD_LETTERS = MetricCounter(
    "landsync_dead_letters_published_total",
    "Dead letters published and acknowledged, by topic and dlq.reason code.",
    ["topic", "reason"],
)


def count_from_zero(topics: Topics, published: Iterable[Topic]) -> None:
    """Create, at 0, the series of the topics a service publishes to and of their dead letters.

    As shared/metrics.py explains: without them a panel shows no data, and ``increase()`` misses
    a service's first dead letter, which a poison alert must not.
    """
    for topic in published:
        name = topics.name(topic)
        PUBLISHED.labels(name)
        for reason in DEAD_LETTER_REASONS.get(topic, ()):
            DEAD_LETTERS.labels(name, reason)


class Publisher(Protocol):
    """The port a service publishes through: :class:`Producer`, or a fake of it in tests."""

    async def publish_all(self, messages: Iterable[Outgoing], *, batched: bool = False) -> None:
        """Publish every message and await them all; raise if any failed."""


class Producer:
    """Publishes keyed messages and returns only once the broker has acknowledged all of them."""

    def __init__(self, settings: CommonSettings, *, client_id: str) -> None:
        self._settings = settings
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None  # made in start(): it needs the loop

    async def start(self) -> None:
        """Connect; raises while the broker is unreachable (callers retry)."""
        if self._producer is not None:
            return
        producer = AIOKafkaProducer(
            bootstrap_servers=self._settings.bootstrap,
            client_id=self._client_id,
            **TUNING,
            request_timeout_ms=30_000,
            **client_options(self._settings),
        )
        try:
            await producer.start()
        except BaseException:
            await producer.stop()  # release the half-open client before the caller retries
            raise
        self._producer = producer

    async def stop(self) -> None:
        """Flush and disconnect."""
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    @property
    def _connected(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("the producer is not started")
        return self._producer

    async def ping(self, timeout: float = 2.0) -> bool:
        """Whether the broker answers a metadata request."""
        if self._producer is None:
            return False
        try:
            await asyncio.wait_for(self._producer.client.fetch_all_metadata(), timeout)
        except Exception:  # noqa: BLE001 - a ping: any failure is "not reachable"
            return False
        return True

    async def publish_all(self, messages: Iterable[Outgoing], *, batched: bool = False) -> None:
        """Publish each message with its own key, without waiting in between, then await all.

        ``batched``: pack the messages into record batches here (:class:`_Batches`), at half the
        CPU per message. Only for a producer with one user at a time, such as the outbox relay's:
        a batch handed over waits until the one before it on its partition has been sent, so
        concurrent users would queue behind each other instead of sharing requests (reconcile's
        members measured publishing at 2.5 times the wall time).

        Raises if any message failed; the caller must then treat the whole set as unpublished.
        """
        producer = self._connected
        batches = _Batches(producer) if batched else None
        futures: list[asyncio.Future[object]] = []
        per_topic: Counter[str] = Counter()
        dead: Counter[tuple[str, str]] = Counter()
        for m in messages:
            if batches is not None:
                await batches.add(m)
            else:
                headers = [(k, v.encode()) for k, v in m.headers.items()]
                futures.append(await producer.send(m.topic, m.value, key=m.key, headers=headers))
            per_topic[m.topic] += 1
            if "dlq.reason" in m.headers:
                dead[m.topic, m.headers["dlq.reason"]] += 1
        if batches is not None:
            futures = await batches.send_all()
        if futures:
            await asyncio.gather(*futures)
        for topic, count in per_topic.items():
            PUBLISHED.labels(topic).inc(count)
        for (topic, reason), count in dead.items():
            DEAD_LETTERS.labels(topic, reason).inc(count)


class _Batches:
    """Messages packed into one record batch per partition, in order, each handed over whole.

    Per message, ``AIOKafkaProducer.send`` costs about twice the CPU (a future, a lookup of the
    partition's open batch): the outbox relay published half as fast. Partitions come from the
    key by the producer's own default partitioner (murmur2, as Java's), so a parcel's records
    land where ``send`` would have put them, and in order.
    """

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self._open: dict[tuple[str, int], BatchBuilder] = {}
        self._partitions: dict[str, list[int]] = {}
        self._futures: list[asyncio.Future[object]] = []

    async def add(self, m: Outgoing) -> None:
        """Append ``m`` to its partition's batch; a full batch is handed to the producer."""
        producer = self._producer
        if m.topic not in self._partitions:
            self._partitions[m.topic] = sorted(await producer.partitions_for(m.topic))
        every = self._partitions[m.topic]
        topic, partition = tp = (m.topic, _PARTITIONER(m.key, every, every))
        headers = [(k, v.encode()) for k, v in m.headers.items()]
        batch = self._open.get(tp)
        if batch is not None:
            if batch.append(key=m.key, value=m.value, timestamp=None, headers=headers) is not None:
                return
            self._futures.append(await producer.send_batch(batch, topic, partition=partition))
        batch = self._open[tp] = producer.create_batch()
        if batch.append(key=m.key, value=m.value, timestamp=None, headers=headers) is None:
            # Larger than a whole batch: send() raises the broker's size error for it.
            del self._open[tp]
            self._futures.append(
                await producer.send(topic, m.value, m.key, partition=partition, headers=headers)
            )

    async def send_all(self) -> list[asyncio.Future[object]]:
        """Hand over the batches still open; the futures of every batch handed over."""
        for (topic, partition), batch in self._open.items():
            self._futures.append(await self._producer.send_batch(batch, topic, partition=partition))
        self._open.clear()
        return self._futures
