"""Sync's use case: send pending plots, then settle each one durably (DLQ, ledger, retry table)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from services.sync import ledger, metrics
from services.sync.client import NationalDbClient, PlotItem
from services.sync.policy import backoff_delay, chunks
from services.sync.settle import Pending, Retry, Settlement, settle
from shared.kafka.dead_letters import dead_letter
from shared.kafka.producer import Producer
from shared.logging import debug_record, get_logger
from shared.settings import Settings
from shared.topics import Topic

log = get_logger(__name__)


class PlotSender:
    """Sends plots in concurrent requests and records what became of each."""

    def __init__(
        self,
        client: NationalDbClient,
        pool: asyncpg.Pool[Any],
        producer: Producer,
        settings: Settings,
        group_id: str,
    ) -> None:
        self._client = client
        self._pool = pool
        self._producer = producer
        self._settings = settings
        self._group_id = group_id
        self._dlq = settings.topics.name(Topic.DLQ_SYNC_FAILED)

    async def sync(
        self, pending: Sequence[Pending], budget: int, *, bisect_failures: bool = False
    ) -> None:
        """Send, with up to ``budget`` charged failures per request, then settle every plot.

        Each request is settled as soon as it is answered, so ledger writes overlap the
        requests still in flight; the caller commits offsets only once all have returned.
        """
        groups = chunks(pending, self._settings.sync_batch_size, lambda p: p.parcel_key)
        await asyncio.gather(*(self._sync_one(g, budget, bisect_failures) for g in groups))

    async def _sync_one(self, group: Sequence[Pending], budget: int, bisect: bool) -> None:
        outcomes = await self._client.send(_items(group), budget, bisect_failures=bisect)
        pairs = list(zip(group, outcomes, strict=True))
        await self.settle(
            settle(pairs, max_attempts=self._settings.sync_max_attempts, backoff=self._backoff)
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
        await self._producer.publish_all(
            dead_letter(
                d.pending.origin,
                topic=self._dlq,
                reason=d.reason,
                detail=d.detail[:1000],
                consumer_group=self._group_id,
                record_id=str(d.pending.record_id),
                commune_code=d.pending.commune_code,
                attempts=d.pending.failures + d.made,
                first_failed_at_ms=_ms(d.pending),
            )
            for d in outcome.dead
        )
        from_table = _from_retry_table(outcome)
        async with self._pool.acquire() as conn:
            if not (outcome.dead or outcome.retry or from_table):
                # The usual case, in one round trip: one statement needs no explicit transaction.
                await ledger.mark_synced(conn, _synced_rows(outcome))
            else:
                async with conn.transaction():
                    await ledger.mark_synced(conn, _synced_rows(outcome))
                    await ledger.mark_failed(
                        conn,
                        [(d.pending.record_id, d.reason, d.detail, d.made) for d in outcome.dead],
                    )
                    await ledger.park(conn, outcome.retry)
                    await ledger.forget(conn, from_table)
        self._count(outcome)

    def _backoff(self, failures: int, retry_after: float | None) -> float:
        s = self._settings
        return backoff_delay(
            failures,
            initial=s.sync_backoff_initial_seconds,
            cap=s.sync_backoff_max_seconds,
            retry_after=retry_after,
        )

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


def _synced_rows(outcome: Settlement) -> list[tuple[UUID, str, int]]:
    return [(p.record_id, s.national_id, s.made) for p, s in outcome.synced]


def _from_retry_table(outcome: Settlement) -> list[UUID]:
    # Plots read back from the retry table carry the time they first failed; fresh ones do not.
    settled = [p for p, _ in outcome.synced] + [d.pending for d in outcome.dead]
    return [p.record_id for p in settled if p.first_failed_at is not None]


def _items(group: Sequence[Pending]) -> list[PlotItem]:
    return [PlotItem(p.parcel_key, p.version, p.origin.value) for p in group]


def _ms(pending: Pending) -> int | None:
    at = pending.first_failed_at
    return None if at is None else int(at.timestamp() * 1000)
