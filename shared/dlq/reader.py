"""Reads a dead-letter topic from Kafka: every partition, from its beginning to its end as of now.

Group-less on purpose: listing or replaying must not commit offsets or join a consumer group, so
each read assigns all partitions itself and sees every dead letter, however often it runs.
"""

from __future__ import annotations

from aiokafka import TopicPartition

from shared.dlq.model import DeadLetter
from shared.kafka.admin import admin_client
from shared.kafka.security import client_options
from shared.kafka.to_end import read_to_end
from shared.settings import CommonSettings


async def _partitions(settings: CommonSettings, topic: str) -> list[int]:
    """The topic's partition ids; none if it does not exist (a consumer would not know yet)."""
    options = client_options(settings)
    async with admin_client(settings.bootstrap, request_timeout_ms=10_000, **options) as admin:
        [described] = await admin.describe_topics([topic])
    if described["error_code"]:
        return []
    return sorted(p["partition"] for p in described["partitions"])


async def read_dead_letters(
    settings: CommonSettings, topic: str, timeout: float = 60.0
) -> list[DeadLetter]:
    """Every message of ``topic`` up to the end offsets taken at the start, in partition order.

    Raises TimeoutError if the end is not reached within ``timeout`` seconds, and aiokafka's
    KafkaError while the broker is unreachable. A topic that does not exist reads as empty.
    """
    partitions = await _partitions(settings, topic)
    if not partitions:
        return []
    letters: list[DeadLetter] = []
    await read_to_end(
        settings,
        [TopicPartition(topic, p) for p in partitions],
        lambda _, m: letters.append(DeadLetter.of(m)),
        client_id="landsync-dlq-reader",
        timeout=timeout,
        what=f"{topic} to its end",
    )
    return sorted(letters, key=lambda d: (d.timestamp_ms, d.partition, d.offset))
