"""Sync's composition root: consumes accepted plots and records them in the ledger.

MINIMAL (foundation issue): the plot is only marked ``sync_state = 'pending'``; nothing is sent to
the national database yet. The national-database client, retries, circuit breaker and the
sync-failed dead letters are the sync issue's work.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.kafka.consumer import BatchConsumer, Incoming
from shared.kafka.runtime import ConsumerRuntime
from shared.logging import debug_record, get_logger
from shared.records import AcceptedPlot
from shared.settings import Settings
from shared.topics import Topic

GROUP_ID = "landsync-sync"
log = get_logger(__name__)


class PlotSync:
    """Takes a batch of accepted plots in hand."""

    def __init__(self, runtime: ConsumerRuntime) -> None:
        self._runtime = runtime

    async def process(self, batch: Sequence[Incoming[AcceptedPlot]]) -> None:
        """Mark the plots as waiting for the national database (idempotent)."""
        await self._runtime.pool.execute(
            "UPDATE records SET sync_state = 'pending', updated_at = now()"
            " WHERE record_id = ANY($1) AND sync_state IS NULL",
            [m.value.record_id for m in batch],
        )
        for m in batch:
            debug_record(log, "plot awaiting sync", m.value.record_id, m.value.submission_id)


def build(settings: Settings) -> ConsumerRuntime:
    """Wire the sync service."""
    runtime = ConsumerRuntime("sync", settings, settings.sync_port)
    consumer = BatchConsumer(
        runtime.broker,
        runtime.producer,
        settings.topics,
        topic=Topic.ACCEPTED,
        group_id=GROUP_ID,
        model=AcceptedPlot,
        processor=PlotSync(runtime).process,
        max_records=settings.consumer_batch_size,
        batch_timeout_ms=settings.consumer_batch_timeout_ms,
    )
    runtime.on_stop(consumer.stop)
    return runtime
