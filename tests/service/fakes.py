"""Fakes of the services' ports: in-memory, implementing the Protocols the services declare."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from services.intake.relay import Pending
from services.reconcile.facts import Facts, ParcelState
from services.reconcile.repository import FactQuery, LedgerState, Stored
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
        if self.events is not None:
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
            now = self.records[d.record_id]
            if now.decision == DecisionState.RECEIVED or (
                now.decision == DecisionState.DEAD_LETTERED and now.replay_count < d.replay_count
            ):
                self.records[d.record_id] = LedgerState(
                    d.decision, d.reasons, d.warnings, d.version, d.replay_count, published=False
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
