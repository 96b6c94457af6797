"""Reconciles one consumed batch: facts in a few queries, pure decisions, one transaction, outputs.

Order, and why: decisions and parcel versions are committed first; then every output is published
and awaited; then the records are marked published; only then does the consumer commit the
offsets. A crash before the commit of decisions redoes the batch; a crash after it finds the
decisions stored and sends the unacknowledged outputs again; a redelivery after the outputs were
marked sends nothing. The one window left (outputs acknowledged, marking not yet committed) can
repeat a message downstream, where sync's idempotency keys absorb it.

Everything from reading the ledger to marking runs under an advisory lock per partition of the
batch, so several members (threads of one process or several processes) are safe through a
rebalance: see ``repository.partitions_locked``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from services.reconcile import metrics
from services.reconcile.decision import Decision, decide
from services.reconcile.facts import Facts, ParcelState
from services.reconcile.outputs import output
from services.reconcile.repository import FactQuery, LedgerState, Stored, as_rows
from shared.cases import Case, Corrected, Decided, Moves, advance
from shared.kafka.consumer import Incoming
from shared.kafka.producer import Outgoing, Publisher
from shared.logging import debug_record, get_logger
from shared.normalize import fold_name, serial_key
from shared.records import SubmittedRecord
from shared.states import DecisionState
from shared.topics import Topics
from shared.tracing import BatchSpans

log = get_logger(__name__)
Message = Incoming[SubmittedRecord]


class LedgerSession(Protocol):
    """One batch's view of the ledger, under the lock of its partitions."""

    async def ledger_states(self, record_ids: Sequence[UUID]) -> dict[UUID, LedgerState]:
        """What the ledger holds of each record's decision (absent: not in the ledger)."""

    async def parcel_states(self, parcel_keys: Iterable[str]) -> dict[str, ParcelState]:
        """The accepted version of each parcel."""

    async def fetch_facts(self, want: FactQuery) -> Facts:
        """The residents and certificates the batch's records name."""

    async def case_states(self, parcel_keys: Iterable[str]) -> dict[str, Case]:
        """The cases of the batch's parcels."""

    async def corrected_records(
        self, references: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], Corrected]:
        """The records that (commune_code, ``corrects``) pairs name."""

    async def store_decisions(
        self,
        decisions: Sequence[Stored],
        parcels: dict[str, ParcelState],
        moves: Callable[[set[UUID]], Moves],
    ) -> set[UUID]:
        """Store decisions of records still undecided, atomically; return the ids stored."""

    async def mark_published(self, record_ids: Sequence[UUID]) -> None:
        """The outputs of these records are acknowledged: never send them again."""


class Ledger(Protocol):
    """The reconciler's port to the ledger: ``repository.PgLedger``, or a fake in tests."""

    def locked(
        self, group_id: str, partitions: Iterable[tuple[str, int]]
    ) -> AbstractAsyncContextManager[LedgerSession]:
        """A session that holds the group's lock on each (topic, partition) until it ends."""


def _wants(batch: Sequence[Message]) -> FactQuery:
    want = FactQuery(set(), set(), set(), set(), set(), {m.value.parcel_key for m in batch})
    for m in batch:
        record = m.value
        if record.certificate and record.certificate.serial:
            want.serial_keys.add(serial_key(record.certificate.serial))
        p = record.parcel
        want.parcels.add(
            (
                p.old_commune_code or record.commune_code,
                p.certificate_map_sheet or p.map_sheet,
                p.certificate_parcel_no or p.parcel_no,
            )
        )
        for owner in record.owners:
            if owner.personal_id:
                want.personal_ids.add(owner.personal_id)
            if owner.legacy_id:
                want.legacy_ids.add(owner.legacy_id)
            if owner.full_name and owner.date_of_birth:
                want.names.add((fold_name(owner.full_name), owner.date_of_birth))
    return want


def _decided(
    batch: Sequence[tuple[Message, Stored]],
    decided: set[UUID],
    corrected: dict[tuple[str, str], Corrected],
) -> list[Decided]:
    """The batch's decided records as cases see them, in decision order."""
    out = []
    for m, s in batch:
        record = m.value
        if s.record_id not in decided:
            continue
        ref = None if record.corrects is None else (record.commune_code, record.corrects)
        out.append(
            Decided(
                s.record_id,
                record.commune_code,
                record.parcel_key,
                DecisionState(s.outcome),
                tuple(r["code"] for r in s.reasons),
                corrected.get(ref) if ref else None,
            )
        )
    return out


def _stored(message: Message, decision: Decision) -> Stored:
    return Stored(
        message.value.record_id,
        decision.outcome,
        as_rows(decision.reasons),
        as_rows(decision.warnings),
        decision.version,
        message.origin.replay_count,
    )


@dataclass
class _Sorted:
    to_decide: list[Message]
    to_resend: list[tuple[Message, LedgerState]]


def _sort(batch: Sequence[Message], states: dict[UUID, LedgerState]) -> _Sorted:
    sorted_ = _Sorted([], [])
    for m in batch:
        state = states.get(m.value.record_id)
        if state is None:
            metrics.SKIPPED.labels("unknown").inc()
            log.warning("record not in the ledger", record_id=str(m.value.record_id))
        elif state.to_decide(m.origin.replay_count):
            sorted_.to_decide.append(m)
        elif not state.published:
            metrics.SKIPPED.labels("resent").inc()
            sorted_.to_resend.append((m, state))
        else:
            metrics.SKIPPED.labels("skipped").inc()
    return sorted_


def _from_ledger(message: Message, state: LedgerState) -> Stored:
    return Stored(
        message.value.record_id,
        state.outcome,
        state.reasons,
        state.warnings,
        state.plot_version,
        state.replay_count,
    )


class _Clock:
    """Milliseconds spent in each phase of a batch."""

    def __init__(self) -> None:
        self._last = time.perf_counter()
        self.ms: dict[str, float] = {}

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.ms[f"{phase}_ms"] = round((now - self._last) * 1000, 1)
        self._last = now


class Reconciler:
    """The processor of the reconcile service's batch consumer."""

    def __init__(self, ledger: Ledger, publisher: Publisher, topics: Topics, group_id: str) -> None:
        self._ledger = ledger
        self._publisher = publisher
        self._topics = topics
        self._group_id = group_id

    async def process(self, batch: Sequence[Message]) -> None:
        """Decide, store, publish and mark the batch (see the module docstring for the order)."""
        with BatchSpans("reconcile.decide", [m.origin.headers for m in batch]) as spans:
            await self._process(batch, spans)

    async def _process(self, batch: Sequence[Message], spans: BatchSpans) -> None:
        partitions = {(m.origin.topic, m.origin.partition) for m in batch}
        clock = _Clock()
        async with self._ledger.locked(self._group_id, partitions) as ledger:
            clock.lap("lock")
            # The lookups do not depend on each other: run them at once.
            states, parcels, facts, cases, corrected = await asyncio.gather(
                ledger.ledger_states([m.value.record_id for m in batch]),
                ledger.parcel_states(m.value.parcel_key for m in batch),
                ledger.fetch_facts(_wants(batch)),
                ledger.case_states(m.value.parcel_key for m in batch),
                ledger.corrected_records(
                    (m.value.commune_code, m.value.corrects) for m in batch if m.value.corrects
                ),
            )
            clock.lap("lookup")
            work = _sort(batch, states)
            decisions, accepted = self._decide(work.to_decide, facts, parcels)
            clock.lap("decide")
            stored = await ledger.store_decisions(
                [s for _, s in decisions],
                accepted,
                lambda ids: advance(cases, _decided(decisions, ids, corrected)),
            )
            clock.lap("store")
            fresh = [(m, s) for m, s in decisions if s.record_id in stored]
            sends = fresh + [(m, _from_ledger(m, state)) for m, state in work.to_resend]
            outgoing = [
                traced(output(s, m.value, m.origin, self._topics, self._group_id), spans, m)
                for m, s in sends
            ]
            await self._publisher.publish_all(o for o in outgoing if o is not None)
            clock.lap("publish")
            await ledger.mark_published([s.record_id for _, s in sends])
            clock.lap("mark")
        # One line per batch: where its time went, to tell a slow database from a slow broker.
        log.info("batch reconciled", size=len(batch), decided=len(fresh), **clock.ms)
        for m, s in fresh:
            codes = [r["code"] for r in s.reasons] or ["none"]
            for code in codes:
                metrics.DECISIONS.labels(s.outcome, code, m.value.commune_code).inc()

    def _decide(
        self, messages: list[Message], facts: Facts, parcels: dict[str, ParcelState]
    ) -> tuple[list[tuple[Message, Stored]], dict[str, ParcelState]]:
        """Decide in batch order: a parcel accepted earlier in the batch counts for later ones."""
        accepted: dict[str, ParcelState] = {}
        decided: list[tuple[Message, Stored]] = []
        for m in messages:
            record = m.value
            key = record.parcel_key
            decision = decide(record, facts, accepted.get(key) or parcels.get(key))
            if decision.outcome == DecisionState.ACCEPTED:
                accepted[key] = ParcelState(
                    decision.version or 1,
                    record.record_id,
                    decision.plot_hash,
                    decision.certificate_key,
                )
            decided.append((m, _stored(m, decision)))
            debug_record(
                log,
                "record decided",
                record.record_id,
                record.submission_id,
                outcome=decision.outcome,
            )
        return decided, accepted


def traced(out: Outgoing | None, spans: BatchSpans, message: Message) -> Outgoing | None:
    """The output sent on under its record's trace (a child of this batch's span of it)."""
    extra = spans.headers_for(message.origin.headers)
    if out is None or not extra:
        return out
    return dataclasses.replace(out, headers={**out.headers, **extra})
