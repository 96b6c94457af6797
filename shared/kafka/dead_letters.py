"""Dead-letter messages: the CONTRACT §3 headers, and publishing the original value unchanged."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from shared.kafka.producer import Outgoing

REPLAY_COUNT = "dlq.replay.count"


@dataclass(frozen=True)
class Origin:
    """Where a dead letter was consumed from."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes
    headers: Mapping[str, str]

    @classmethod
    def of(cls, record: Any) -> Self:  # noqa: ANN401 - an aiokafka ConsumerRecord or FastStream message
        """The coordinates, key, value and UTF-8 headers of a consumed aiokafka record."""
        return cls(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            timestamp_ms=record.timestamp,
            key=record.key,
            value=record.value or b"",
            headers={k: v.decode("utf-8", "replace") for k, v in record.headers or ()},
        )

    @property
    def replay_count(self) -> int:
        """How many times the record was replayed: its ``dlq.replay.count`` header, else 0."""
        text = self.headers.get(REPLAY_COUNT, "0")
        return int(text) if text.isdigit() else 0


def dead_letter(
    origin: Origin,
    *,
    topic: str,
    reason: str,
    detail: str,
    consumer_group: str,
    record_id: str | None = None,
    commune_code: str | None = None,
    attempts: int = 1,
    first_failed_at_ms: int | None = None,
) -> Outgoing:
    """The dead letter for ``origin``: same key, same value, and the headers operators filter on."""
    carried = origin.headers
    headers = {
        "dlq.reason": reason,
        "dlq.detail": detail,
        "dlq.original.topic": origin.topic,
        "dlq.original.partition": str(origin.partition),
        "dlq.original.offset": str(origin.offset),
        "dlq.original.timestamp": str(origin.timestamp_ms),
        "dlq.consumer.group": consumer_group,
        "dlq.first.failed.at": str(first_failed_at_ms or int(time.time() * 1000)),
        "dlq.attempts": str(attempts),
        # A replayed record that fails again keeps its replay count, so the replay limit holds.
        REPLAY_COUNT: carried.get(REPLAY_COUNT, "0"),
        "record.id": record_id or carried.get("record.id", ""),
        "commune.code": commune_code or carried.get("commune.code", ""),
    }
    return Outgoing(topic=topic, value=origin.value, key=origin.key, headers=headers)
