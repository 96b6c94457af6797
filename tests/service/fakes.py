"""Fakes of the services' ports: in-memory, implementing the Protocols the services declare."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from services.intake.ledger import Existing, NewRecord, SubmissionKey
from services.intake.relay import Pending
from services.reconcile.facts import Facts, ParcelState
from services.reconcile.repository import FactQuery, LedgerState, Stored
from services.sync.client import PlotItem
from services.sync.policy import SendResult, Synced
from services.sync.settle import Pending as PendingPlot
from services.sync.settle import Retry, Settlement, Triage
from shared.cases import Case, Corrected, Moves
from shared.kafka.producer import Outgoing
from shared.states import DecisionState


@dataclass
class FakePublisher:
    """Records what it published; ``fail_next`` makes the next publishes raise, as a broker down."""

    published: list[Outgoing] = field(default_factory=list)
    batches: list[bool] = field(default_factory=list)
    fail_next: int = 0
    starts: int = 0
    events: list[str] | None = None  # shared with a fake ledger, to see the order of writes

    async def start(self) -> None:
        self.starts += 1

    async def publish_all(self, messages: Iterable[Outgoing], *, batched: bool = False) -> None:
        messages = list(messages)
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("broker unavailable")
        self.batches.append(batched)
        self.published.extend(messages)
        if self.events is not None and messages:
            self.events.append(f"publish {len(messages)}")


@dataclass
class FakeOutbox:
    """Rows in id order; a claim deletes its rows only when it ends without an error."""

    rows: list[Pending] = field(default_factory=list)
    locked: bool = False
    listening: list[Callable[..., None]] = field(default_factory=list)

    async def listen(self, notify: Callable[..., None]) -> None:
        if not self.listening:
            self.listening.append(notify)

    @contextlib.asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[Sequence[Pending] | None]:
        if self.locked:
            yield None
            return
        claimed = sorted(self.rows, key=lambda r: r.id)[:limit]
        yield claimed
        gone = {r.id for r in claimed}
        self.rows = [r for r in self.rows if r.id not in gone]

    async def close(self) -> None:
        self.listening.clear()


@dataclass
class FakeLedger:
    """The ledger in memory: records, accepted parcels, cases, and the facts reconcile reads.

    It stores a decision under the ledger's rule (a record still received, or dead-lettered and
    replayed since) and counts the writes, so a test sees what a batch stored and marked.
    """

    records: dict[UUID, LedgerState] = field(default_factory=dict)
    parcels: dict[str, ParcelState] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)
    facts: Facts = field(default_factory=Facts)
    locked_partitions: list[set[tuple[str, int]]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    def receive(self, record_id: UUID) -> None:
        """A record stored by intake, not decided yet."""
        self.records[record_id] = LedgerState(
            DecisionState.RECEIVED, [], [], None, 0, published=False
        )

    @contextlib.asynccontextmanager
    async def locked(
        self, group_id: str, partitions: Iterable[tuple[str, int]]
    ) -> AsyncIterator[FakeLedger]:
        del group_id
        self.locked_partitions.append(set(partitions))
        yield self

    async def ledger_states(self, record_ids: Sequence[UUID]) -> dict[UUID, LedgerState]:
        return {i: self.records[i] for i in record_ids if i in self.records}

    async def parcel_states(self, parcel_keys: Iterable[str]) -> dict[str, ParcelState]:
        return {k: self.parcels[k] for k in parcel_keys if k in self.parcels}

    async def fetch_facts(self, want: FactQuery) -> Facts:
        del want
        return self.facts

    async def case_states(self, parcel_keys: Iterable[str]) -> dict[str, Case]:
        return {k: self.cases[k] for k in parcel_keys if k in self.cases}

    async def corrected_records(
        self, references: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], Corrected]:
        del references
        return {}

    async def store_decisions(
        self,
        decisions: Sequence[Stored],
        parcels: dict[str, ParcelState],
        moves: Callable[[set[UUID]], Moves],
    ) -> set[UUID]:
        decided = set()
        for d in decisions:
            if self.records[d.record_id].to_decide(d.replay_count):
                self.records[d.record_id] = LedgerState(
                    d.outcome, d.reasons, d.warnings, d.version, d.replay_count, published=False
                )
                decided.add(d.record_id)
        for change in moves(decided).changes.values():
            self.cases[change.parcel_key] = Case(change.state, change.record_id)
        for key, parcel in parcels.items():
            if parcel.record_id in decided:
                self.parcels[key] = parcel
        self.events.append(f"store {len(decided)}")
        return decided

    async def mark_published(self, record_ids: Sequence[UUID]) -> None:
        for i in record_ids:
            self.records[i] = dataclasses.replace(self.records[i], published=True)
        self.events.append(f"mark {len(record_ids)}")


@dataclass
class FakeNationalDb:
    """Answers each plot by its parcel key from ``answers`` (default: created); logs requests."""

    answers: Mapping[str, SendResult] = field(default_factory=dict)
    requests: list[tuple[list[PlotItem], int, bool]] = field(default_factory=list)

    async def send(
        self, items: Sequence[PlotItem], max_failures: int, *, bisect_failures: bool = False
    ) -> list[SendResult]:
        self.requests.append((list(items), max_failures, bisect_failures))
        created = Synced("VN-1", "created", 1)
        return [self.answers.get(i.parcel_key, created) for i in items]


@dataclass
class FakeSyncLedger:
    """Sync's view of the ledger in memory: synced and failed plots, and the retry table."""

    synced: dict[UUID, str] = field(default_factory=dict)
    failed: dict[UUID, str] = field(default_factory=dict)
    retries: dict[UUID, Retry] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)

    async def triage(self, record_ids: list[UUID], parcel_keys: list[str]) -> Triage:
        waiting = [r.pending for r in self.retries.values() if r.pending.parcel_key in parcel_keys]
        return Triage(
            synced={i for i in record_ids if i in self.synced},
            failed={i for i in record_ids if i in self.failed},
            waiting={p.record_id for p in waiting},
            waiting_parcels={p.parcel_key for p in waiting},
        )

    async def store(self, outcome: Settlement) -> None:
        for pending, synced in outcome.synced:
            self.synced[pending.record_id] = synced.national_id
            self.retries.pop(pending.record_id, None)
        await self.mark_failed(
            [(d.pending.record_id, d.reason, d.detail, d.attempts) for d in outcome.dead]
        )
        for retry in outcome.retry:
            # As the table's upsert: a copy counting fewer failures changes nothing.
            before = self.retries.get(retry.pending.record_id)
            if before is None or before.failures <= retry.failures:
                self.retries[retry.pending.record_id] = retry
        self.events.append("store")

    async def mark_failed(self, rows: Sequence[tuple[UUID, str, str, int]]) -> None:
        for record_id, reason, _, _ in rows:
            if record_id not in self.synced:
                self.failed[record_id] = reason
                self.retries.pop(record_id, None)

    async def due(self, limit: int) -> list[PendingPlot]:
        return [r.pending for r in self.retries.values()][:limit]

    async def next_due_in(self) -> float | None:
        return None


@dataclass
class FakeRecords:
    """Intake's ledger in memory, keyed by (commune, submission_id) as the real one is.

    ``fail_before_commit`` raises inside the transaction (nothing stored); ``lose_connection``
    raises as the session ends, after the commit (everything stored), as PostgreSQL killed then.
    """

    rows: dict[SubmissionKey, Existing] = field(default_factory=dict)
    outbox: list[UUID] = field(default_factory=list)
    fail_before_commit: Exception | None = None
    lose_connection: bool = False

    async def store(
        self, records: list[NewRecord], *, key_id: str, traceparent: str | None = None
    ) -> tuple[set[UUID], dict[SubmissionKey, Existing]]:
        del key_id, traceparent
        if self.fail_before_commit is not None:
            raise self.fail_before_commit
        inserted = set()
        for r in records:
            if r.submission_key not in self.rows:
                self.rows[r.submission_key] = Existing(r.record_id, r.content_hash)
                self.outbox.append(r.record_id)
                inserted.add(r.record_id)
        return inserted, dict(self.rows)

    def session(self) -> contextlib.AbstractAsyncContextManager[FakeRecords]:
        return self._session()

    @contextlib.asynccontextmanager
    async def _session(self) -> AsyncIterator[FakeRecords]:
        yield self
        if self.lose_connection:
            raise ConnectionResetError("the server closed the connection")
