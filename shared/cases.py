"""Cases (CONTRACT §6): a parcel of a commune, and how its decided records move it.

A case is *cleaned* once it has an accepted version (for good), *open* while its latest decided
record is rejected or dead-lettered, *pending* before anything is decided, and *corrected* when a
record naming it in ``corrects`` closed it (its parcel key was wrong: it is no case at all, and
the report leaves it out). Pure functions: reconcile calls them inside its decision transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from shared.states import DecisionState


class CaseState(StrEnum):
    """The ledger's ``cases.state``."""

    PENDING = "pending"
    OPEN = "open"
    CLEANED = "cleaned"
    CORRECTED = "corrected"


@dataclass(frozen=True)
class Case:
    """What a batch needs to know of a case before it moves it."""

    state: CaseState
    record_id: UUID | None  # the latest decided record


@dataclass(frozen=True)
class Corrected:
    """The record a ``corrects`` reference names, as the ledger holds it."""

    record_id: UUID
    parcel_key: str
    decision: DecisionState


@dataclass(frozen=True)
class Decided:
    """A record just decided, in decision order."""

    record_id: UUID
    commune_code: str
    parcel_key: str
    decision: DecisionState
    reason_codes: tuple[str, ...]
    corrects: Corrected | None = None  # resolved from the record's ``corrects``, if any


@dataclass(frozen=True)
class CaseChange:
    """A case's state after the batch (the database keeps a cleaned case cleaned)."""

    parcel_key: str
    commune_code: str
    state: CaseState
    reasons: tuple[str, ...]
    record_id: UUID


@dataclass(frozen=True)
class Closing:
    """An open case of another parcel key, closed as corrected by ``by``."""

    parcel_key: str
    by: UUID


@dataclass
class Moves:
    """Everything a batch of decisions does to cases."""

    changes: dict[str, CaseChange]
    closings: list[Closing]
    corrections: dict[UUID, UUID]  # correcting record -> the record it corrects


_FAILED = frozenset({DecisionState.REJECTED, DecisionState.DEAD_LETTERED})
_CLEAN = frozenset({DecisionState.ACCEPTED, DecisionState.DUPLICATE})


def may_be_corrected(corrected: Corrected) -> bool:
    """``corrects`` may name only a rejected or dead-lettered record (CONTRACT §1)."""
    return corrected.decision in _FAILED


def advance(cases: Mapping[str, Case], decided: Sequence[Decided]) -> Moves:
    """The cases' new states after ``decided``, in order, and the corrections among them."""
    now: dict[str, Case] = dict(cases)
    moves = Moves({}, [], {})
    for d in decided:
        before = now.get(d.parcel_key)
        explicit = d.corrects if d.corrects and may_be_corrected(d.corrects) else None
        if explicit is not None:
            moves.corrections[d.record_id] = explicit.record_id
            if explicit.parcel_key != d.parcel_key:
                moves.closings.append(Closing(explicit.parcel_key, d.record_id))
        elif before and before.state == CaseState.OPEN and before.record_id != d.record_id:
            # A later record of an open case's parcel corrects it by itself (a replay of the
            # same record is a second decision, not a correction).
            assert before.record_id is not None
            moves.corrections[d.record_id] = before.record_id
        state = _next(before.state if before else CaseState.PENDING, d.decision)
        reasons = d.reason_codes if state == CaseState.OPEN else ()
        moves.changes[d.parcel_key] = CaseChange(
            d.parcel_key, d.commune_code, state, reasons, d.record_id
        )
        now[d.parcel_key] = Case(state, d.record_id)
    return moves


def _next(state: CaseState, decision: DecisionState) -> CaseState:
    if state == CaseState.CLEANED or decision in _CLEAN:
        return CaseState.CLEANED
    if decision in _FAILED:
        return CaseState.OPEN
    return state
