"""The campaign report of CONTRACT §6, aggregated in SQL so it stays fast at province scale."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any

from shared.db.pool import Conn

# One pass over the ledger; ROLLUP adds the province row (commune_code NULL).
_TOTALS = """
SELECT commune_code,
       count(*)                                                   AS received,
       count(*) FILTER (WHERE status IN ('accepted', 'synced')
                        OR (status = 'dead_lettered' AND sync_state = 'failed')) AS accepted,
       count(*) FILTER (WHERE status = 'synced')                  AS synced,
       count(*) FILTER (WHERE status = 'rejected')                AS rejected,
       count(*) FILTER (WHERE status = 'dead_lettered')           AS dead_lettered,
       count(*) FILTER (WHERE status = 'duplicate')               AS duplicates,
       count(*) FILTER (WHERE status <> 'received')               AS decided
FROM records
WHERE $1::text[] IS NULL OR commune_code = ANY($1::text[])
GROUP BY ROLLUP (commune_code)
ORDER BY commune_code NULLS LAST
"""
# Reasons of the records that did not go through, per commune and for the province.
_REASONS = """
SELECT commune_code, status, reason ->> 'code' AS code, count(*) AS n
FROM records, jsonb_array_elements(reasons) AS reason
WHERE status IN ('rejected', 'dead_lettered')
  AND ($1::text[] IS NULL OR commune_code = ANY($1::text[]))
GROUP BY GROUPING SETS ((commune_code, status, reason ->> 'code'), (status, reason ->> 'code'))
"""


@dataclass(frozen=True)
class Row:
    """One commune's progress, or the province's when ``commune_code`` is None."""

    commune_code: str | None
    received: int
    accepted: int  # accepted by reconciliation, whether synced yet or not
    synced: int
    rejected: int
    dead_lettered: int
    duplicates: int
    decided: int
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    dead_lettered_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def clean_rate(self) -> float | None:
        """Accepted ÷ decided."""
        return self.accepted / self.decided if self.decided else None

    @property
    def sync_rate(self) -> float | None:
        """Synced ÷ accepted."""
        return self.synced / self.accepted if self.accepted else None

    def as_dict(self) -> dict[str, Any]:
        """The row with its rates, for JSON."""
        return {**asdict(self), "clean_rate": self.clean_rate, "sync_rate": self.sync_rate}


async def campaign(conn: Conn, communes: Collection[str] | None = None) -> list[Row]:
    """Per-commune rows followed by the province row; only ``communes`` when given.

    With ``communes`` the last row totals those communes, not the whole province.
    """
    scope = None if communes is None else sorted(communes)
    by_reason: dict[tuple[str | None, str], dict[str, int]] = {}
    for r in await conn.fetch(_REASONS, scope):
        by_reason.setdefault((r["commune_code"], r["status"]), {})[r["code"]] = r["n"]
    return [
        Row(
            **dict(r),
            rejected_by_reason=by_reason.get((r["commune_code"], "rejected"), {}),
            dead_lettered_by_reason=by_reason.get((r["commune_code"], "dead_lettered"), {}),
        )
        for r in await conn.fetch(_TOTALS, scope)
    ]
