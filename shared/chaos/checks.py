"""The chaos run's checks, pure functions of its evidence; none passes on empty evidence."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from shared.evaluate import Actual, Expected, evaluate
from shared.topics import Topic

#: The output topic each decision is published to (a duplicate publishes nothing).
_TOPIC_OF = {
    "accepted": {Topic.ACCEPTED.value},
    "rejected": {Topic.REJECTED.value},
    "dead_lettered": {t.value for t in Topic if t.is_dead_letter},
    "duplicate": set[str](),
}
_EXAMPLES = 3


@dataclass(frozen=True)
class LedgerRow:
    """What the ledger holds of one record at the end of the run."""

    submission_id: str
    parcel_key: str
    decision: str  # records.decision: received until reconcile decided
    sync_state: str | None = None
    plot_version: int | None = None
    reasons: frozenset[str] = frozenset()
    warnings: frozenset[str] = frozenset()

    @property
    def final(self) -> bool:
        """Decided, and an accepted plot synced or given up on: nothing more will happen."""
        if self.decision == "received":
            return False
        return self.decision != "accepted" or self.sync_state in {"synced", "failed"}


@dataclass(frozen=True)
class Evidence:
    """Everything the checks read, gathered once the run has drained (or timed out)."""

    #: record id → submission id of every record intake answered 202 for
    acknowledged: Mapping[str, str]
    #: record id → its ledger row
    ledger: Mapping[str, LedgerRow]
    #: record id → the distinct decision messages on the output topics, each (topic, what it
    #: says): a redelivery repeats a message, a second decision adds another
    decisions: Mapping[str, frozenset[tuple[str, str]]]
    #: (parcel key, version) → how many times the national database wrote that plot version
    applied: Mapping[tuple[str, int], int]
    #: submission id → the generator's expected outcome
    truth: Mapping[str, Expected]
    faults_scheduled: int = 0
    faults_applied: int = 0
    #: seconds after the start when the last fault was over, the last record was answered 202,
    #: and everything was final
    last_fault_end: float | None = None
    last_acknowledged_at: float | None = None
    drained_at: float | None = None
    drain_timeout: float = 0.0


@dataclass(frozen=True)
class Row:
    """One line of the table: the check, its figure, whether it passed, examples if not."""

    check: str
    figure: str
    passed: bool
    examples: tuple[str, ...] = field(default=())


def _row(check: str, bad: list[str], of: int, what: str) -> Row:
    return Row(check, f"{len(bad):,} of {of:,} {what}", not bad and of > 0,
               tuple(sorted(bad)[:_EXAMPLES]))  # fmt: skip


def lost(ev: Evidence) -> Row:
    """A 202'd record that went missing somewhere on its way.

    Absent from the ledger, its decision absent from the topics, or its plot synced in the
    ledger yet absent from the national database.
    """
    held: dict[str, int] = {}
    for parcel_key, version in ev.applied:
        held[parcel_key] = max(held.get(parcel_key, 0), version)

    def missing(record_id: str) -> bool:
        row = ev.ledger.get(record_id)
        if row is None:
            return True
        unpublished = bool(_TOPIC_OF.get(row.decision)) and not ev.decisions.get(record_id)
        unsent = row.sync_state == "synced" and held.get(row.parcel_key, 0) < (
            row.plot_version or 1
        )
        return unpublished or unsent

    bad = [r for r in ev.acknowledged if missing(r)]
    return _row("lost (202 answered, then missing)", bad, len(ev.acknowledged), "records")


def decided_twice(ev: Evidence) -> Row:
    """More than one distinct decision message for a record, or one the ledger disagrees with."""
    bad = []
    for record_id, messages in ev.decisions.items():
        row = ev.ledger.get(record_id)
        topics = {topic for topic, _ in messages}
        if len(messages) > 1 or (
            row is not None and not topics <= _TOPIC_OF.get(row.decision, set())
        ):
            bad.append(record_id)
    return _row("decided twice", bad, len(ev.decisions), "records published")


def applied_twice(ev: Evidence) -> Row:
    """A plot version the national database wrote more than once."""
    bad = [f"{parcel}:v{version}" for (parcel, version), n in ev.applied.items() if n > 1]
    return _row("applied twice (national db)", bad, len(ev.applied), "plot versions")


def stuck(ev: Evidence) -> Row:
    """A 202'd record in the ledger but not final when the drain timed out."""
    bad = [r for r in ev.acknowledged if (row := ev.ledger.get(r)) is not None and not row.final]
    return _row("stuck (not final)", bad, len(ev.acknowledged), "records")


def against_truth(ev: Evidence) -> Row:
    """Each decided record's outcome against the generator's truth (shared.evaluate)."""
    due = {s: ev.truth[s] for s in ev.acknowledged.values() if s in ev.truth}
    actual = {
        row.submission_id: Actual(
            None if row.decision == "received" else row.decision, row.reasons, row.warnings
        )
        for row in ev.ledger.values()
    }
    result = evaluate(due, actual)
    decided = result.total - result.undecided - result.missing
    unknown = [s for s in ev.acknowledged.values() if s not in ev.truth]
    wrong = decided - result.correct + len(unknown)
    figure = f"{wrong:,} of {decided + len(unknown):,} records differ"
    return Row("decisions vs truth", figure, wrong == 0 and decided > 0, tuple(unknown[:_EXAMPLES]))


def faults(ev: Evidence) -> Row:
    """Every scheduled fault was applied (a fault that found nothing to hit proves nothing)."""
    ok = ev.faults_scheduled > 0 and ev.faults_applied == ev.faults_scheduled
    return Row("faults applied", f"{ev.faults_applied} of {ev.faults_scheduled}", ok)


def drain(ev: Evidence) -> Row:
    """Seconds from the end of the last fault (or the last 202, if later) until all were final.

    Records still arriving after the last fault would otherwise count their own sending.
    """
    name = "drain after last fault"
    if ev.last_fault_end is None:
        return Row(name, "no fault applied", passed=False)
    if ev.drained_at is None:
        return Row(name, f"not drained in {ev.drain_timeout:.0f} s", passed=False)
    since = max(ev.last_fault_end, ev.last_acknowledged_at or 0.0)
    seconds = max(0.0, ev.drained_at - since)
    last = "fault" if since == ev.last_fault_end else "202"
    return Row(name, f"{seconds:.1f} s (after the last {last})", passed=True)


CHECKS: tuple[Callable[[Evidence], Row], ...] = (
    lost, decided_twice, applied_twice, stuck, against_truth, faults, drain
)  # fmt: skip


def check_all(ev: Evidence) -> list[Row]:
    """Every check's row, in the table's order."""
    return [check(ev) for check in CHECKS]
