"""Reconcile's SQL: storing decisions in the ledger, once per record."""

from __future__ import annotations

from uuid import UUID

from shared.db.pool import Conn

# MINIMAL (foundation issue): every received record is accepted. The decision logic of CONTRACT §4
# replaces this in the reconciliation issue. The decision is stored once: a redelivered record
# keeps its first decision, and the UNION also returns records accepted by an earlier delivery
# (the statement's snapshot predates its own UPDATE), so their output can be published again.
_ACCEPT = """
WITH decided AS (
    UPDATE records SET status = 'accepted', decided_at = now(), updated_at = now()
    WHERE record_id = ANY($1) AND status = 'received'
    RETURNING record_id
)
SELECT record_id FROM decided
UNION
SELECT record_id FROM records WHERE record_id = ANY($1) AND status = 'accepted'
"""


async def accept(conn: Conn, record_ids: list[UUID]) -> set[UUID]:
    """Store an ``accepted`` decision for the received records; return all accepted ones."""
    rows = await conn.fetch(_ACCEPT, record_ids)
    return {row["record_id"] for row in rows}
