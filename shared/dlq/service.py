"""Listing and showing dead letters: Kafka read, replay bookkeeping looked up, pure filtering."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from shared.db.pool import Conn
from shared.dlq import model, reader, store
from shared.dlq.model import DeadLetter, Filter, Position
from shared.dlq.view import view
from shared.settings import CommonSettings


@dataclass(frozen=True)
class Listing:
    """The dead letters a filter selected, and which of them were replayed already."""

    queue: str
    topic: str
    letters: list[DeadLetter]
    replayed: set[Position]

    def as_json(self, *, reveal: bool = False) -> dict[str, Any]:
        """The API's and ``--json``'s answer."""
        return {
            "queue": self.queue,
            "topic": self.topic,
            "count": len(self.letters),
            "dead_letters": [
                view(d, reveal=reveal, replayed=d.position in self.replayed) for d in self.letters
            ],
        }


async def list_dead_letters(
    settings: CommonSettings, db: Conn | asyncpg.Pool[Any], queue: str, wanted: Filter
) -> Listing:
    """The queue's dead letters that pass the filter (raises UnknownQueueError first)."""
    topic = model.queue_topic(settings.topics, queue)
    letters = await reader.read_dead_letters(settings, topic)
    replayed = await store.replayed_positions(db, topic)
    return Listing(queue, topic, model.select(letters, wanted, replayed), replayed)


async def audit_reveal(
    db: Conn | asyncpg.Pool[Any], listing: Listing, wanted: Filter, *, actor: str
) -> None:
    """Record that ``listing`` is about to be shown unmasked (before it is)."""
    await store.record_reveal(
        db, actor=actor, queue=listing.queue, wanted=wanted.as_json(), revealed=len(listing.letters)
    )
