"""A reason or warning found on a record, with a detail that never holds personal data."""

from __future__ import annotations

from dataclasses import dataclass

from shared.reasons import Reason, WarningCode


@dataclass(frozen=True)
class Finding:
    """One code and what it is about (field paths and counts, never names or IDs)."""

    code: Reason | WarningCode
    detail: str = ""

    def as_json(self) -> dict[str, str]:
        """The ledger's and the messages' form."""
        return {"code": str(self.code), "detail": self.detail}
