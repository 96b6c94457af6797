"""The replay bookkeeping in PostgreSQL: which dead letters were replayed, and the audit rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson

from shared.db.pool import Conn
from shared.dlq.model import DeadLetter, Position

_LOCK_NAMESPACE = 0x444C51  # "DLQ"; the second key is the topic's hash


async def lock_topic(conn: Conn, topic: str) -> None:
    """Hold, until the transaction ends, the right to replay this topic: concurrent replays wait.

    The second one then sees the first one's tracking rows, so it does not publish them again.
    """
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1::int, hashtext($2::text))", _LOCK_NAMESPACE, topic
    )


async def replayed_positions(conn: Conn | asyncpg.Pool[Any], topic: str) -> set[Position]:
    """(partition, offset) of every dead letter of ``topic`` already replayed."""
    rows = await conn.fetch(
        "SELECT dlq_partition, dlq_offset FROM dlq_replayed WHERE dlq_topic = $1", topic
    )
    return {(r["dlq_partition"], r["dlq_offset"]) for r in rows}


async def record_replay(
    conn: Conn,
    *,
    actor: str,
    queue: str,
    topic: str,
    wanted: dict[str, Any],
    replayed: Sequence[DeadLetter],
    refused: int,
    skipped: int,
) -> int:
    """Write the audit row (``publishing``) and the tracking rows of a replay; returns its id."""
    replay_id: int = await conn.fetchval(
        "INSERT INTO dlq_replays (actor, queue, dlq_topic, filter, replayed, refused, skipped,"
        " state) VALUES ($1, $2, $3, $4::text::jsonb, $5, $6, $7, 'publishing')"
        " RETURNING replay_id",
        actor,
        queue,
        topic,
        orjson.dumps(wanted).decode(),
        len(replayed),
        refused,
        skipped,
    )
    await conn.execute(
        "INSERT INTO dlq_replayed (dlq_topic, dlq_partition, dlq_offset, record_id, replay_id)"
        " SELECT $1, p, o, nullif(r, ''), $5 FROM unnest($2::int[], $3::bigint[], $4::text[])"
        " AS t(p, o, r) ON CONFLICT DO NOTHING",
        topic,
        [d.partition for d in replayed],
        [d.offset for d in replayed],
        [d.record_id for d in replayed],
        replay_id,
    )
    return replay_id


async def finish_replay(conn: Conn, replay_id: int, *, published: bool) -> None:
    """Mark a replay published, or failed: then its dead letters may be replayed again."""
    async with conn.transaction():
        if not published:
            await conn.execute("DELETE FROM dlq_replayed WHERE replay_id = $1", replay_id)
        await conn.execute(
            "UPDATE dlq_replays SET state = $2, finished_at = now() WHERE replay_id = $1",
            replay_id,
            "published" if published else "failed",
        )


async def record_reveal(
    db: Conn | asyncpg.Pool[Any], *, actor: str, queue: str, wanted: dict[str, Any], revealed: int
) -> None:
    """Audit a listing shown with names and personal IDs unmasked."""
    await db.execute(
        "INSERT INTO dlq_reveals (actor, queue, filter, revealed)"
        " VALUES ($1, $2, $3::text::jsonb, $4)",
        actor,
        queue,
        orjson.dumps(wanted).decode(),
        revealed,
    )
