"""Kafka topic names of CONTRACT §3, with the optional per-campaign prefix."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Topic(StrEnum):
    """Topic base names; :meth:`Topics.name` adds the configured prefix."""

    SUBMITTED = "land.records.submitted"
    ACCEPTED = "land.plots.accepted"
    REJECTED = "land.records.rejected"
    DLQ_OWNER_UNRESOLVED = "land.dlq.owner-unresolved"
    DLQ_MORTGAGED = "land.dlq.mortgaged"
    DLQ_SYNC_FAILED = "land.dlq.sync-failed"
    DLQ_POISON = "land.dlq.poison"

    @property
    def is_dead_letter(self) -> bool:
        """Whether this is one of the dead-letter topics."""
        return self.value.startswith("land.dlq.")


#: Short queue names used by the operator CLI and API (CONTRACT §5).
#: The dead-letter queues by their short names (CONTRACT §5), as the CLI offers them.
DlqQueue = Literal["owner-unresolved", "mortgaged", "sync-failed", "poison"]
DLQ_QUEUES: dict[str, Topic] = {
    "owner-unresolved": Topic.DLQ_OWNER_UNRESOLVED,
    "mortgaged": Topic.DLQ_MORTGAGED,
    "sync-failed": Topic.DLQ_SYNC_FAILED,
    "poison": Topic.DLQ_POISON,
}


@dataclass(frozen=True)
class Topics:
    """Resolves topic names for one deployment (prefix) and knows their partition counts."""

    prefix: str = ""
    partitions: int = 6
    dlq_partitions: int = 3

    def name(self, topic: Topic) -> str:
        """The full topic name on the cluster."""
        return f"{self.prefix}{topic.value}"

    def all(self) -> dict[str, int]:
        """Every topic LandSync uses, with its partition count."""
        return {
            self.name(t): self.dlq_partitions if t.is_dead_letter else self.partitions
            for t in Topic
        }
