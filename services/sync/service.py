"""Sync's use case: send pending plots, then settle each one durably (DLQ, ledger, retry table).

Per batch of ``land.plots.accepted`` (the BatchConsumer commits only after :meth:`PlotSync.process`
returns): plots the ledger already holds as synced are skipped (a redelivery); plots of a parcel
with an earlier version in the retry table queue behind it; the rest go out in concurrent requests
with a few retries each. Each plot is then synced, dead-lettered, or taken aside to the durable
retry table (see :mod:`services.sync.retries`), so the offset moves on only past plots that are
settled or durably parked. Dead letters are acknowledged before the ledger is written.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from services.sync import metrics
from services.sync.client import PlotItem
from services.sync.policy import SendResult, backoff_delay, chunks
from services.sync.settle import Pending, Retry, Settlement, Triage, settle
from shared.kafka.consumer import GivenUp, Incoming
from shared.kafka.dead_letters import dead_letter
from shared.kafka.producer import Publisher
from shared.logging import debug_record, get_logger
from shared.records import AcceptedPlot
from shared.tracing import BatchSpans

log = get_logger(__name__)


class NationalDb(Protocol):
    """The port to the national database: ``client.NationalDbClient``, or a fake in tests."""

    async def send(
        self, items: Sequence[PlotItem], max_failures: int, *, bisect_failures: bool = False
    ) -> list[SendResult]:
        """One outcome per item, in order; never raises them."""


class SyncLedger(Protocol):
    """The port to the ledger's sync columns and the retry table: ``ledger.PgSyncLedger``."""

    async def triage(self, record_ids: list[UUID], parcel_keys: list[str]) -> Triage:
        """What the ledger knows of a batch's records and parcels already."""

    async def store(self, outcome: Settlement) -> None:
        """Write a settlement atomically: synced, failed, parked and forgotten plots."""

    async def mark_failed(self, rows: Sequence[tuple[UUID, str, str, int]]) -> None:
        """(record_id, reason, detail, attempts): the plots were dead-lettered."""

    async def due(self, limit: int) -> list[Pending]:
        """Plots in the retry table whose next attempt is due, earliest version per parcel."""

    async def next_due_in(self) -> float | None:
        """Seconds until the next attempt in the retry table, or None if it is empty."""


@dataclass(frozen=True)
class SendPolicy:
    """How plots are sent: plots per request, attempts before giving up, the backoff."""

    batch_size: int
    max_attempts: int
    backoff_initial: float
    backoff_max: float

    def backoff(self, failures: int, retry_after: float | None) -> float:
        """Seconds until a plot that failed ``failures`` times is tried again."""
        return backoff_delay(
            failures, initial=self.backoff_initial, cap=self.backoff_max, retry_after=retry_after
        )


class PlotSender:
    """Sends plots in concurrent requests and settles what became of each."""

    def __init__(
        self,
        national_db: NationalDb,
        ledger: SyncLedger,
        publisher: Publisher,
        policy: SendPolicy,
        *,
        dlq_topic: str,
        group_id: str,
    ) -> None:
        self._national_db = national_db
        self._ledger = ledger
        self._publisher = publisher
        self._policy = policy
        self._dlq = dlq_topic
        self._group_id = group_id

    async def sync(
        self, pending: Sequence[Pending], max_failures: int, *, bisect_failures: bool = False
    ) -> None:
        """Send, with up to ``max_failures`` charged failures per request, then settle every plot.

        Each request is settled as soon as it is answered, so ledger writes overlap the
        requests still in flight; the caller commits offsets only once all have returned.
        """
        groups = chunks(pending, self._policy.batch_size, lambda p: p.parcel_key)
        await asyncio.gather(*(self._sync_one(g, max_failures, bisect_failures) for g in groups))

    async def _sync_one(self, group: Sequence[Pending], max_failures: int, bisect: bool) -> None:
        outcomes = await self._national_db.send(_items(group), max_failures, bisect_failures=bisect)
        pairs = list(zip(group, outcomes, strict=True))
        await self.settle(
            settle(pairs, max_attempts=self._policy.max_attempts, backoff=self._policy.backoff)
        )

    async def queue(self, pending: Sequence[Pending]) -> None:
        """Put plots straight into the retry table, behind their parcel's earlier versions."""
        reason = "waiting behind an earlier version of the parcel"
        await self.settle(Settlement(retry=[Retry(p, reason, 0, p.failures, 0.0) for p in pending]))

    async def settle(self, outcome: Settlement) -> None:
        """Dead letters first (acknowledged), then one transaction for the ledger and retries.

        A crash between the two re-sends the plot later and may dead-letter it twice; it never
        loses it. Kafka offsets are committed by the caller only after this returns.
        """
        await self._publisher.publish_all(
            dead_letter(
                d.pending.origin,
                topic=self._dlq,
                reason=d.reason,
                detail=d.detail[:1000],
                consumer_group=self._group_id,
                record_id=str(d.pending.record_id),
                commune_code=d.pending.commune_code,
                attempts=d.pending.failures + d.attempts,
                first_failed_at_ms=_ms(d.pending),
            )
            for d in outcome.dead
        )
        await self._ledger.store(outcome)
        self._count(outcome)

    @staticmethod
    def _count(outcome: Settlement) -> None:
        for status, count in Counter(s.status for _, s in outcome.synced).items():
            metrics.PLOTS.labels(status).inc(count)
        for pending, synced in outcome.synced:
            debug_record(log, "plot synced", pending.record_id, None, status=synced.status)
        for d in outcome.dead:
            metrics.PLOTS.labels(d.reason).inc()
            log.warning("plot dead-lettered", record_id=str(d.pending.record_id), reason=d.reason)
        if outcome.retry:
            metrics.PLOTS.labels("retry_later").inc(len(outcome.retry))
        # One line per settled batch, as reconcile logs one per batch reconciled.
        if outcome.synced or outcome.dead or outcome.retry:
            log.info(
                "batch settled",
                synced=len(outcome.synced),
                dead_lettered=len(outcome.dead),
                retry_later=len(outcome.retry),
            )


class PlotSync:
    """The processor of sync's batch consumer: triage a batch, then send or queue its plots."""

    def __init__(self, ledger: SyncLedger, sender: PlotSender, *, inline_attempts: int) -> None:
        self._ledger = ledger
        self._sender = sender
        self._inline_attempts = inline_attempts

    async def process(self, batch: Sequence[Incoming[AcceptedPlot]]) -> None:
        """Sync one batch; returns once every plot is synced, dead-lettered or parked."""
        pending = [_pending(m) for m in batch]
        known = await self._ledger.triage(
            [p.record_id for p in pending], list({p.parcel_key for p in pending})
        )
        todo = [p for p in pending if not known.settled(p)]
        parked = known.waiting_parcels
        with BatchSpans("sync.send", [m.origin.headers for m in batch]) as spans, spans.current():
            await self._sender.queue([p for p in todo if p.parcel_key in parked])
            await self._sender.sync(
                [p for p in todo if p.parcel_key not in parked], self._inline_attempts
            )

    async def give_up(self, given_up: Sequence[GivenUp]) -> None:
        """Plots dead-lettered as poison end failed in the ledger, with the poison reason."""
        rows = [(g.record_id, g.reason.value, g.detail, 0) for g in given_up if g.record_id]
        await self._ledger.mark_failed(rows)


def _pending(message: Incoming[AcceptedPlot]) -> Pending:
    plot = message.value
    return Pending(plot.record_id, plot.parcel_key, plot.version, plot.commune_code, message.origin)


def _items(group: Sequence[Pending]) -> list[PlotItem]:
    return [PlotItem(p.parcel_key, p.version, p.origin.value) for p in group]


def _ms(pending: Pending) -> int | None:
    at = pending.first_failed_at
    return None if at is None else int(at.timestamp() * 1000)
