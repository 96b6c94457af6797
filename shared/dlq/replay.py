"""Replaying dead letters: publish them again, once each, and write who did it.

Order, and why: under a transaction-scoped advisory lock on the topic, the replayed set is read,
the plan made, and the audit row (state ``publishing``) and tracking rows written and committed:
the intent is on record before anything is sent. A concurrent replay of the same queue waits for
the lock and then sees those rows, so nothing is published twice by two operators. Then the
messages are published and acknowledged (idempotent producer, ``acks=all``) and the audit row
marked ``published``. If publishing fails, the tracking rows are removed and the row marked
``failed``, so the replay can be run again. A crash between the two leaves the row
``publishing``: the dead letters count as replayed (they may have been), and the audit says so.
A message published twice is absorbed downstream (reconcile decides a record again only for a
higher ``dlq.replay.count``; sync's idempotency keys).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import partial
from typing import Any

from shared.db.pool import Conn
from shared.dlq import metrics, model, plan, reader, store
from shared.dlq.model import Filter
from shared.kafka.producer import Producer
from shared.logging import get_logger
from shared.settings import IntakeSettings

log = get_logger(__name__)


@dataclass(frozen=True)
class ReplayResult:
    """How many dead letters were (or, in a dry run, would be) published, refused and skipped."""

    queue: str
    replayed: int
    refused: int
    skipped: int
    dry_run: bool
    replay_id: int | None = None  # the audit row; None for a dry run

    def as_json(self) -> dict[str, Any]:
        """The API's and ``--json``'s answer."""
        return {
            "queue": self.queue,
            "dry_run": self.dry_run,
            "replayed": self.replayed,
            "refused": self.refused,
            "skipped": self.skipped,
            "replay_id": self.replay_id,
        }


async def replay(
    settings: IntakeSettings,
    conn: Conn,
    producer: Producer,
    queue: str,
    wanted: Filter,
    *,
    actor: str,
    dry_run: bool = False,
    publish_timeout: float = 60.0,
) -> ReplayResult:
    """Publish the queue's matching dead letters again (raises UnknownQueueError first)."""
    topic = model.queue_topic(settings.topics, queue)
    letters = await reader.read_dead_letters(settings, topic)
    target = partial(plan.replay_target, queue, topics=settings.topics)
    async with conn.transaction():
        if not dry_run:
            await store.lock_topic(conn, topic)
        replayed = await store.replayed_positions(conn, topic)
        chosen = plan.plan_replay(
            letters, wanted, replayed, max_replays=settings.dlq_max_replays, target=target
        )
        counts = {"refused": len(chosen.refused), "skipped": len(chosen.skipped)}
        if dry_run:
            return ReplayResult(queue, len(chosen.replay), **counts, dry_run=True)
        replay_id = await store.record_replay(
            conn,
            actor=actor,
            queue=queue,
            topic=topic,
            wanted=wanted.as_json(),
            replayed=chosen.replay,
            **counts,
        )
    messages = [plan.replay_message(d, target(d) or "") for d in chosen.replay]
    try:
        await asyncio.wait_for(producer.publish_all(messages), publish_timeout)
    except BaseException:
        await store.finish_replay(conn, replay_id, published=False)
        raise
    await store.finish_replay(conn, replay_id, published=True)
    metrics.REPLAYED.labels(queue).inc(len(chosen.replay))
    log.info(
        "dead letters replayed", queue=queue, actor=actor, replayed=len(chosen.replay), **counts
    )
    return ReplayResult(queue, len(chosen.replay), **counts, dry_run=False, replay_id=replay_id)
