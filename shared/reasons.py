"""Reason and warning codes of CONTRACT §4, and which decision and topic each one leads to."""

from __future__ import annotations

from enum import StrEnum

from shared.states import DecisionState
from shared.topics import Topic


class Reason(StrEnum):
    """Why a record did not go through as it is."""

    INCOMPLETE = "incomplete"
    INVALID_LAND_USE = "invalid_land_use"
    SCAN_NAME_MISMATCH = "scan_name_mismatch"
    CERTIFICATE_NOT_FOUND = "certificate_not_found"
    CERTIFICATE_PARCEL_MISMATCH = "certificate_parcel_mismatch"
    CERTIFICATE_SUPERSEDED = "certificate_superseded"
    DUPLICATE_CONFLICT = "duplicate_conflict"
    OWNER_UNRESOLVED = "owner_unresolved"
    OWNER_DECEASED = "owner_deceased"
    OWNER_ABSENT = "owner_absent"
    HOLDER_MISMATCH = "holder_mismatch"
    MORTGAGED = "mortgaged"
    SYNC_REJECTED = "sync_rejected"
    SYNC_EXHAUSTED = "sync_exhausted"
    DUPLICATE = "duplicate"


class PoisonReason(StrEnum):
    """Why a consumer gave a message up to ``land.dlq.poison`` (additions to CONTRACT §4)."""

    UNDECODABLE = "undecodable"  # does not decode into the topic's model
    UNPROCESSABLE = "unprocessable"  # decodes, but processing it fails every time


class WarningCode(StrEnum):
    """Noted on a record without changing its decision."""

    ID_PREFIX_MISMATCH = "id_prefix_mismatch"
    NAME_VARIANT = "name_variant"
    ID_RECOVERED = "id_recovered"
    SUPERSEDES_PREVIOUS = "supersedes_previous"


REJECTING = frozenset(
    {
        Reason.INCOMPLETE,
        Reason.INVALID_LAND_USE,
        Reason.SCAN_NAME_MISMATCH,
        Reason.CERTIFICATE_NOT_FOUND,
        Reason.CERTIFICATE_PARCEL_MISMATCH,
        Reason.CERTIFICATE_SUPERSEDED,
        Reason.DUPLICATE_CONFLICT,
    }
)
OWNER = frozenset(
    {Reason.OWNER_UNRESOLVED, Reason.OWNER_DECEASED, Reason.OWNER_ABSENT, Reason.HOLDER_MISMATCH}
)


def route(reasons: frozenset[Reason]) -> tuple[DecisionState, Topic | None]:
    """The decision on a record carrying ``reasons``, and the topic its output goes to.

    The one routing rule: the decision function and the outputs both ask it.
    """
    if Reason.DUPLICATE in reasons:
        return DecisionState.DUPLICATE, None
    if reasons & REJECTING:
        return DecisionState.REJECTED, Topic.REJECTED
    if reasons & OWNER:
        return DecisionState.DEAD_LETTERED, Topic.DLQ_OWNER_UNRESOLVED
    if Reason.MORTGAGED in reasons:
        return DecisionState.DEAD_LETTERED, Topic.DLQ_MORTGAGED
    return DecisionState.ACCEPTED, Topic.ACCEPTED


#: The ``dlq.reason`` codes each dead-letter topic's letters can carry.
DEAD_LETTER_REASONS: dict[Topic, frozenset[str]] = {
    Topic.DLQ_OWNER_UNRESOLVED: frozenset(OWNER),
    Topic.DLQ_MORTGAGED: frozenset({Reason.MORTGAGED}),
    Topic.DLQ_SYNC_FAILED: frozenset({Reason.SYNC_REJECTED, Reason.SYNC_EXHAUSTED}),
    Topic.DLQ_POISON: frozenset(PoisonReason),
}
