"""The one way LandSync builds a FastStream Kafka broker: idempotent producer, acks=all."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from faststream.kafka import KafkaBroker

from shared.settings import Settings


@dataclass(frozen=True)
class Outgoing:
    """A message to publish: its key keeps every record of a parcel on one partition, in order."""

    topic: str
    value: bytes
    key: bytes | None
    headers: Mapping[str, str] = field(default_factory=dict)


def make_broker(
    settings: Settings, *, client_id: str, middlewares: Sequence[Any] = ()
) -> KafkaBroker:
    """A broker whose publishes are idempotent and acknowledged by all in-sync replicas."""
    return KafkaBroker(
        settings.bootstrap,
        client_id=client_id,
        # Idempotence stops a retried send from writing a duplicate; it implies acks=all.
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=1024 * 1024,
        request_timeout_ms=30_000,
        graceful_timeout=settings.graceful_timeout_seconds,
        middlewares=middlewares,
        # FastStream's own lines go through the root handler, so they come out as masked JSON.
        logger=logging.getLogger("faststream.landsync"),
    )


async def publish_all(broker: KafkaBroker, messages: Iterable[Outgoing]) -> None:
    """Publish every message with its own key and wait until the broker has acknowledged all.

    Messages go out one by one (not ``publish_batch``, which ignores keys) without waiting in
    between, so the producer batches them; the call returns only when each one is durable, and
    raises if any failed.
    """
    futures = [
        await broker.publish(m.value, m.topic, key=m.key, headers=dict(m.headers), no_confirm=True)
        for m in messages
    ]
    if futures:
        await asyncio.gather(*futures)
