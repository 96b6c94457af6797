"""Adds up the report's grouped rows into each commune's figures and the province's (pure).

The report reads the ledger once and the cases once, grouped by what the figures depend on
(a few thousand groups for 700,000 records); these functions turn the groups into the figures
of CONTRACT §6, under each commune's code and under None for the province.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from shared.cases import CaseState
from shared.states import DecisionState, Status, status_of


@dataclass
class Submissions:
    """One commune's (or the province's) records, as the report counts them."""

    received: int = 0
    accepted: int = 0  # accepted by reconciliation, whether synced yet or not
    synced: int = 0
    rejected: int = 0
    dead_lettered: int = 0  # by reconcile, or by sync (the national database refused the plot)
    duplicates: int = 0
    decided: int = 0
    corrections: int = 0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    dead_lettered_by_reason: Counter[str] = field(default_factory=Counter)

    def add(
        self,
        decision: str,
        sync_state: str | None,
        *,
        correction: bool,
        codes: Sequence[str] | None,
        n: int,
    ) -> None:
        """Count ``n`` records of one group; ``codes`` are their reasons (CONTRACT §2's)."""
        status = status_of(decision, sync_state)
        self.received += n
        self.accepted += n * (decision == DecisionState.ACCEPTED)
        self.synced += n * (status == Status.SYNCED)
        self.rejected += n * (status == Status.REJECTED)
        self.dead_lettered += n * (status == Status.DEAD_LETTERED)
        self.duplicates += n * (decision == DecisionState.DUPLICATE)
        self.decided += n * (decision != DecisionState.RECEIVED)
        self.corrections += n * correction
        by_reason = {
            Status.REJECTED: self.rejected_by_reason,
            Status.DEAD_LETTERED: self.dead_lettered_by_reason,
        }.get(status)
        if by_reason is not None:
            for code in codes or ():
                by_reason[code] += n

    def add_group(self, g: Mapping[str, Any]) -> None:
        """Count one group of the report's query (``shared.report._SUBMISSIONS``)."""
        self.add(
            g["decision"], g["sync_state"], correction=g["correction"], codes=g["codes"], n=g["n"]
        )

    def figures(self) -> dict[str, Any]:
        """The figures, as ``shared.report.Row`` takes them."""
        return {
            **vars(self),
            "rejected_by_reason": dict(self.rejected_by_reason),
            "dead_lettered_by_reason": dict(self.dead_lettered_by_reason),
        }


@dataclass
class Cases:
    """One commune's (or the province's) cases, as the report counts them."""

    cases: int = 0
    cases_cleaned: int = 0
    cases_synced: int = 0
    cases_open: int = 0
    cases_pending: int = 0
    open_by_reason: Counter[str] = field(default_factory=Counter)

    def add(self, state: str, *, synced: bool, codes: Sequence[str] | None, n: int) -> None:
        """Count ``n`` cases of one group; a case closed as corrected is no case at all."""
        if state == CaseState.CORRECTED:
            return
        cleaned = state == CaseState.CLEANED
        self.cases += n
        self.cases_cleaned += n * cleaned
        self.cases_synced += n * (cleaned and synced)
        self.cases_pending += n * (state == CaseState.PENDING)
        if state == CaseState.OPEN:
            self.cases_open += n
            for code in codes or ():
                self.open_by_reason[code] += n

    def add_group(self, g: Mapping[str, Any]) -> None:
        """Count one group of the report's query (``shared.report._CASES``)."""
        self.add(g["state"], synced=g["synced"], codes=g["codes"], n=g["n"])

    def figures(self) -> dict[str, Any]:
        """The figures, as ``shared.report.Row`` takes them."""
        return {**vars(self), "open_by_reason": dict(self.open_by_reason)}


Figures = TypeVar("Figures", Submissions, Cases)


def _by_commune(groups: Iterable[Any], figures: type[Figures]) -> dict[str | None, Figures]:
    """Each group added to its commune's figures and to the province's (under None)."""
    out: dict[str | None, Figures] = {None: figures()}
    for g in groups:
        for where in (g["commune_code"], None):
            out.setdefault(where, figures()).add_group(g)
    return out


def submissions(groups: Iterable[Any]) -> dict[str | None, Submissions]:
    """Groups of records (``commune_code, decision, sync_state, correction, codes, n``)."""
    return _by_commune(groups, Submissions)


def cases(groups: Iterable[Any]) -> dict[str | None, Cases]:
    """Groups of cases (``commune_code, state, synced, codes, n``)."""
    return _by_commune(groups, Cases)
