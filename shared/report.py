"""The campaign report of CONTRACT §6, aggregated in SQL so it stays fast at province scale."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from shared.db.pool import Conn

# One pass over the ledger; ROLLUP adds the province row (commune_code NULL).
_TOTALS = """
SELECT commune_code,
       count(*)                                                   AS received,
       count(*) FILTER (WHERE status IN ('accepted', 'synced'))   AS accepted,
       count(*) FILTER (WHERE status = 'synced')                  AS synced,
       count(*) FILTER (WHERE status = 'rejected')                AS rejected,
       count(*) FILTER (WHERE status = 'dead_lettered')           AS dead_lettered,
       count(*) FILTER (WHERE status = 'duplicate')               AS duplicates,
       count(*) FILTER (WHERE status <> 'received')               AS decided
FROM records
GROUP BY ROLLUP (commune_code)
ORDER BY commune_code NULLS LAST
"""


@dataclass(frozen=True)
class Row:
    """One commune's progress, or the province's when ``commune_code`` is None."""

    commune_code: str | None
    received: int
    accepted: int
    synced: int
    rejected: int
    dead_lettered: int
    duplicates: int
    decided: int

    @property
    def clean_rate(self) -> float | None:
        """Accepted ÷ decided."""
        return self.accepted / self.decided if self.decided else None

    @property
    def sync_rate(self) -> float | None:
        """Synced ÷ accepted."""
        return self.synced / self.accepted if self.accepted else None

    def as_dict(self) -> dict[str, Any]:
        """The row with its rates, for JSON and CSV."""
        return {**asdict(self), "clean_rate": self.clean_rate, "sync_rate": self.sync_rate}


async def campaign(conn: Conn) -> list[Row]:
    """Per-commune rows followed by the province row."""
    return [Row(**dict(r)) for r in await conn.fetch(_TOTALS)]
