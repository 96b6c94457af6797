"""What becomes of each plot after a round of sending: pure rules, no I/O."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from services.sync.policy import Refused, SendResult, Synced, Unsent
from shared.kafka.dead_letters import Origin
from shared.reasons import Reason

SYNC_REJECTED = Reason.SYNC_REJECTED
SYNC_EXHAUSTED = Reason.SYNC_EXHAUSTED


@dataclass(frozen=True)
class Pending:
    """A plot waiting for the national database, from the topic or from the retry table."""

    record_id: UUID
    parcel_key: str
    version: int
    commune_code: str
    origin: Origin
    failures: int = 0  # attempts charged to the plot in earlier rounds
    first_failed_at: datetime | None = None


@dataclass(frozen=True)
class FailedPlot:
    """A plot for ``land.dlq.sync-failed``."""

    pending: Pending
    reason: str
    detail: str
    attempts: int


@dataclass(frozen=True)
class Retry:
    """A plot taken aside to the retry table, due again after ``delay`` seconds."""

    pending: Pending
    error: str
    attempts: int
    failures: int
    delay: float


@dataclass
class Settlement:
    """The outcome of a round, sorted by what has to be written."""

    synced: list[tuple[Pending, Synced]] = field(default_factory=list)
    dead: list[FailedPlot] = field(default_factory=list)
    retry: list[Retry] = field(default_factory=list)


def settle(
    pairs: Sequence[tuple[Pending, SendResult]],
    *,
    max_attempts: int,
    backoff: Callable[[int, float | None], float],
) -> Settlement:
    """Synced plots are recorded; refusals are dead letters; failures retry until exhausted."""
    out = Settlement()
    for pending, outcome in pairs:
        if isinstance(outcome, Synced):
            out.synced.append((pending, outcome))
        elif isinstance(outcome, Refused):
            out.dead.append(FailedPlot(pending, SYNC_REJECTED, outcome.error, outcome.attempts))
        else:
            out_of_attempts(out, pending, outcome, max_attempts, backoff)
    return out


def out_of_attempts(
    out: Settlement,
    pending: Pending,
    outcome: Unsent,
    max_attempts: int,
    backoff: Callable[[int, float | None], float],
) -> None:
    """File an unsent plot as exhausted or as a retry, by its failures over all rounds."""
    failures = pending.failures + outcome.failures
    if failures >= max_attempts:
        detail = f"gave up after {failures} failed attempts; last: {outcome.error}"
        out.dead.append(FailedPlot(pending, SYNC_EXHAUSTED, detail, outcome.attempts))
    else:
        delay = backoff(failures, outcome.retry_after)
        out.retry.append(Retry(pending, outcome.error, outcome.attempts, failures, delay))


@dataclass(frozen=True)
class Triage:
    """What the ledger knows of a batch already.

    A redelivery (after a rebalance, or a crash before the commit) must not send a plot again,
    nor dead-letter it a second time, nor reset its count of failures in the retry table.
    """

    synced: set[UUID]
    failed: set[UUID]  # dead-lettered plots
    waiting: set[UUID]  # plots in the retry table, worked there
    waiting_parcels: set[str]  # parcels with a plot in the retry table: later ones queue

    def settled(self, pending: Pending) -> bool:
        """Whether the plot needs nothing more; a replayed dead letter is sent again."""
        record_id = pending.record_id
        if record_id in self.synced or record_id in self.waiting:
            return True
        return record_id in self.failed and pending.origin.replay_count == 0
