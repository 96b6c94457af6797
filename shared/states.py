"""A record's two state machines, and the status of CONTRACT §2 derived from them.

The decision is reconcile's: ``received`` until decided, then one outcome with its reasons and
warnings, changed only by a re-decision (a replayed dead letter). Sync's progress lives beside
it: none until sync sees the plot, then ``pending``, ``synced`` (with the national id) or
``failed`` (with its reason, ``sync_rejected`` or ``sync_exhausted``). The SQL builders here are
the one place that turns the pair into the status users see.
"""

from __future__ import annotations

from enum import StrEnum


class DecisionState(StrEnum):
    """The ledger's ``records.decision``: what reconcile decided."""

    RECEIVED = "received"  # not decided yet
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DEAD_LETTERED = "dead_lettered"
    DUPLICATE = "duplicate"


class SyncState(StrEnum):
    """The ledger's ``records.sync_state`` (NULL until sync has seen the accepted plot)."""

    PENDING = "pending"
    SYNCED = "synced"
    FAILED = "failed"


class Status(StrEnum):
    """A record's status as CONTRACT §2 shows it, derived from the two states."""

    RECEIVED = "received"
    ACCEPTED = "accepted"
    SYNCED = "synced"
    REJECTED = "rejected"
    DEAD_LETTERED = "dead_lettered"
    DUPLICATE = "duplicate"


DECIDED_STATUSES = frozenset(Status) - {Status.RECEIVED}


def status_of(decision: DecisionState | str, sync_state: SyncState | str | None) -> Status:
    """The CONTRACT §2 status: an accepted plot the national database refused is dead-lettered."""
    if decision == DecisionState.ACCEPTED and sync_state == SyncState.SYNCED:
        return Status.SYNCED
    if decision == DecisionState.ACCEPTED and sync_state == SyncState.FAILED:
        return Status.DEAD_LETTERED
    return Status(decision)


def status_sql(alias: str = "") -> str:
    """``status_of`` as a SQL expression over a ``records`` row (``alias`` with its dot)."""
    accepted = f"{alias}decision = '{DecisionState.ACCEPTED}'"
    return (
        f"CASE WHEN {accepted} AND {alias}sync_state = '{SyncState.SYNCED}'"
        f" THEN '{Status.SYNCED}'"
        f" WHEN {accepted} AND {alias}sync_state = '{SyncState.FAILED}'"
        f" THEN '{Status.DEAD_LETTERED}' ELSE {alias}decision END"
    )


def status_condition(status: Status, alias: str = "") -> str:
    """A SQL condition true for the ``records`` rows whose derived status is ``status``."""
    a = alias
    accepted = f"{a}decision = '{DecisionState.ACCEPTED}'"
    if status == Status.SYNCED:
        return f"({accepted} AND {a}sync_state = '{SyncState.SYNCED}')"
    if status == Status.DEAD_LETTERED:
        return (
            f"({a}decision = '{DecisionState.DEAD_LETTERED}'"
            f" OR ({accepted} AND {a}sync_state = '{SyncState.FAILED}'))"
        )
    if status == Status.ACCEPTED:
        return (
            f"({accepted} AND {a}sync_state IS DISTINCT FROM '{SyncState.SYNCED}'"
            f" AND {a}sync_state IS DISTINCT FROM '{SyncState.FAILED}')"
        )
    return f"({a}decision = '{DecisionState(status)}')"


def reasons_sql(alias: str = "") -> str:
    """The record's reasons as CONTRACT §2 shows them: the decision's, then sync's failure."""
    a = alias
    return (
        f"CASE WHEN {a}sync_state = '{SyncState.FAILED}' AND {a}sync_reason IS NOT NULL"
        f" THEN {a}reasons || jsonb_build_array(jsonb_build_object("
        f"'code', {a}sync_reason, 'detail', coalesce({a}sync_last_error, '')))"
        f" ELSE {a}reasons END"
    )


#: SQL: a record is final once decided and, when accepted, synced or given up on by sync.
FINAL_SQL = (
    f"decision <> '{DecisionState.RECEIVED}' AND (decision <> '{DecisionState.ACCEPTED}'"
    f" OR sync_state IN ('{SyncState.SYNCED}', '{SyncState.FAILED}'))"
)
