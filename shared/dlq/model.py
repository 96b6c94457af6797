"""Dead letters as operators see them, and the filters that select them. No I/O.

Kafka is the source of truth: a dead letter is a message on a ``land.dlq.*`` topic, its value the
original record unchanged and its CONTRACT §3 headers saying why and from where.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from shared.kafka.dead_letters import Origin
from shared.reasons import PoisonReason, Reason
from shared.topics import DLQ_QUEUES, Topics

#: (partition, offset) of a dead letter within its queue's topic: what replays are tracked by.
Position = tuple[int, int]
REASON_CODES = frozenset({*(r.value for r in Reason), *(r.value for r in PoisonReason)})
_COMMUNE = re.compile(r"^[0-9]{5}$")
_RELATIVE = re.compile(r"^([0-9]+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class UnknownQueueError(ValueError):
    """Not one of the short queue names of CONTRACT §5."""


class BadFilterError(ValueError):
    """A filter value that cannot be used (bad commune code, reason, time or limit)."""


def queue_topic(topics: Topics, queue: str) -> str:
    """The full topic name of a short queue name such as ``owner-unresolved``."""
    if queue not in DLQ_QUEUES:
        known = ", ".join(DLQ_QUEUES)
        raise UnknownQueueError(f"unknown dead-letter queue {queue!r}; one of: {known}")
    return topics.name(DLQ_QUEUES[queue])


@dataclass(frozen=True)
class DeadLetter(Origin):
    """One message of a dead-letter topic (its timestamp: when it was dead-lettered)."""

    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def position(self) -> Position:
        """Where it sits in its topic."""
        return self.partition, self.offset

    @property
    def record_id(self) -> str:
        """The ledger's record id (empty for a poison message that had none)."""
        return self.headers.get("record.id", "")

    @property
    def commune_code(self) -> str:
        """The record's commune."""
        return self.headers.get("commune.code", "")

    @property
    def reason(self) -> str:
        """The ``dlq.reason`` code."""
        return self.headers.get("dlq.reason", "")

    @property
    def reasons(self) -> tuple[str, ...]:
        """Every reason code: ``dlq.reasons`` when reconcile listed several, else the reason."""
        listed = self.headers.get("dlq.reasons", "")
        return tuple(c for c in listed.split(",") if c) or (self.reason,)

    @property
    def dead_lettered_at(self) -> datetime:
        """The dead letter's timestamp."""
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)


@dataclass(frozen=True)
class Filter:
    """Which dead letters an operator means; every field left None matches everything."""

    commune: str | None = None
    reason: str | None = None
    since: datetime | None = None
    record_id: str | None = None
    limit: int | None = None
    include_replayed: bool = False  # list only: replay never publishes a dead letter twice

    @property
    def selects(self) -> bool:
        """Whether the filter names which dead letters (a limit alone takes the oldest of all)."""
        return any(v is not None for v in (self.commune, self.reason, self.since, self.record_id))

    def may_replay(self, *, everything: bool, dry_run: bool) -> bool:
        """Whether a replay may go ahead: it names its dead letters, says all, or only counts."""
        return self.selects or everything or dry_run

    def matches(self, letter: DeadLetter) -> bool:
        """Whether the dead letter passes the commune, reason, time and record filters."""
        return (
            (self.commune is None or letter.commune_code == self.commune)
            and (self.reason is None or self.reason in letter.reasons)
            and (self.since is None or letter.dead_lettered_at >= self.since)
            and (self.record_id is None or letter.record_id == self.record_id)
        )

    def as_json(self) -> dict[str, Any]:
        """The filter as the audit table keeps it."""
        return {
            "commune": self.commune,
            "reason": self.reason,
            "since": self.since.isoformat() if self.since else None,
            "record_id": self.record_id,
            "limit": self.limit,
        }


def parse_since(text: str, now: datetime) -> datetime:
    """``30m``, ``2h`` or ``7d`` before ``now``, or an ISO date or time (UTC unless zoned)."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        amount, unit = relative.groups()
        try:
            return now - timedelta(**{_UNITS[unit]: int(amount)})
        except OverflowError:
            raise BadFilterError(
                f"since is further back than the calendar goes: {text!r}"
            ) from None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadFilterError(
            f"since must be an ISO date or time, or an age such as 30m, 2h or 7d: {text!r}"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def parse_filter(
    *,
    commune: str | None = None,
    reason: str | None = None,
    since: str | None = None,
    record_id: str | None = None,
    limit: int | None = None,
    include_replayed: bool = False,
    now: datetime | None = None,
) -> Filter:
    """A filter from operator input; raises BadFilterError naming the bad value."""
    if commune is not None and not _COMMUNE.match(commune):
        raise BadFilterError(f"commune must be a 5-digit commune code: {commune!r}")
    if reason is not None and reason not in REASON_CODES:
        raise BadFilterError(f"unknown reason code {reason!r}")
    if limit is not None and limit < 1:
        raise BadFilterError("limit must be at least 1")
    if record_id is not None and not _is_uuid(record_id):
        raise BadFilterError(f"record_id must be a record's id (a UUID): {record_id!r}")
    when = None if since is None else parse_since(since, now or datetime.now(UTC))
    return Filter(commune, reason, when, record_id, limit, include_replayed)


def select(
    letters: Iterable[DeadLetter], wanted: Filter, replayed: AbstractSet[Position]
) -> list[DeadLetter]:
    """The dead letters to list, in topic order; replayed ones only if the filter includes them."""
    found = [
        letter
        for letter in letters
        if wanted.matches(letter) and (wanted.include_replayed or letter.position not in replayed)
    ]
    return found[: wanted.limit] if wanted.limit else found
