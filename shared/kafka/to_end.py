"""Reads partitions group-less, from their beginning to their end offsets as of the start."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.kafka.security import client_options
from shared.settings import CommonSettings

Handle = Callable[[TopicPartition, ConsumerRecord[bytes, bytes]], None]


async def read_to_end(
    settings: CommonSettings,
    assigned: Sequence[TopicPartition],
    handle: Handle,
    *,
    client_id: str,
    timeout: float,
    what: str,
) -> None:
    """Call ``handle(partition, message)`` for every message below the end offsets of now.

    Group-less on purpose: the read commits no offset and joins no consumer group, so it sees
    every message however often it runs. Messages are handed over as they are fetched, never
    held all at once. Raises TimeoutError (``could not read <what> …``) if the end is not
    reached within ``timeout`` seconds.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        client_id=client_id,
        **client_options(settings),
    )
    await consumer.start()
    try:
        consumer.assign(list(assigned))
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(list(assigned))
        deadline = time.monotonic() + timeout
        remaining = [tp for tp in assigned if await consumer.position(tp) < ends[tp]]
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {what} in {timeout:.0f} s")
            for tp, messages in (await consumer.getmany(*remaining, timeout_ms=500)).items():
                for m in messages:
                    if m.offset < ends[tp]:
                        handle(tp, m)
            remaining = [tp for tp in remaining if await consumer.position(tp) < ends[tp]]
    finally:
        await consumer.stop()
