"""The shared producer against the real broker: keyed partitions and order, as plain sends have."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiokafka.admin import NewTopic
from aiokafka.errors import KafkaError

from shared.kafka.admin import admin_client
from shared.kafka.producer import Outgoing, Producer
from shared.settings import Settings
from shared.stack import Stack
from tests.support import plain_producer, read_to_end, started


async def _scratch_topics(settings: Settings, count: int) -> list[str]:
    names = [f"{settings.topic_prefix}scratch.{uuid.uuid4().hex[:8]}" for _ in range(count)]
    async with admin_client(settings.bootstrap) as admin:
        await admin.create_topics([NewTopic(n, 3, 1) for n in names])
    return names


def _by_key(messages: list[Any]) -> dict[bytes, tuple[int, list[bytes]]]:
    """Each key's partition and its values in offset order."""
    out: dict[bytes, tuple[int, list[bytes]]] = {}
    for m in sorted(messages, key=lambda m: (m.partition, m.offset)):
        partition, values = out.setdefault(m.key, (m.partition, []))
        assert partition == m.partition, "one key, one partition"
        values.append(m.value)
    return out


async def test_messages_keep_the_partition_and_order_a_plain_send_gives_them(
    stack: Stack, settings: Settings
) -> None:
    batched, plain = await _scratch_topics(settings, 2)
    keys = [f"07339:{n}:{n * 7}".encode() for n in range(40)]
    values = [(keys[i % 40], f"value-{i}".encode()) for i in range(3000)]
    async with (
        started(Producer(settings, client_id="test-producer")) as producer,
        plain_producer(settings.bootstrap) as reference,
    ):
        await producer.publish_all(
            (Outgoing(batched, value, key, {"record.id": value.decode()}) for key, value in values),
            batched=True,
        )
        for key, value in values:
            await reference.send(plain, value, key=key)
        await reference.flush()

    got = await read_to_end(settings.bootstrap, batched)
    assert len(got) == 3000
    assert _by_key(got) == _by_key(await read_to_end(settings.bootstrap, plain))
    assert all(dict(m.headers)["record.id"] == m.value for m in got)


async def test_a_message_too_big_for_any_batch_fails_the_publish(
    stack: Stack, settings: Settings
) -> None:
    [topic] = await _scratch_topics(settings, 1)
    async with started(Producer(settings, client_id="test-producer")) as producer:
        with pytest.raises(KafkaError):
            await producer.publish_all(
                [Outgoing(topic, b"small", b"k"), Outgoing(topic, b"x" * 3_000_000, b"k")],
                batched=True,
            )
