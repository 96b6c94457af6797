"""Reconcile's composition root: consumes submitted records, stores decisions, publishes plots.

MINIMAL (foundation issue): the decision is "accepted" for every decodable record. Matching owners
and certificates (CONTRACT §4) is the reconciliation issue's work.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.kafka.consumer import BatchConsumer, Incoming
from shared.kafka.producer import Outgoing
from shared.kafka.runtime import ConsumerRuntime
from shared.logging import debug_record, get_logger
from shared.records import AcceptedPlot, SubmittedRecord
from shared.settings import Settings
from shared.topics import Topic

from . import ledger

GROUP_ID = "landsync-reconcile"
log = get_logger(__name__)


class Reconciler:
    """Decides a batch of submitted records and publishes the outcome of each."""

    def __init__(self, runtime: ConsumerRuntime) -> None:
        self._runtime = runtime
        self._accepted_topic = runtime.settings.topics.name(Topic.ACCEPTED)

    async def process(self, batch: Sequence[Incoming[SubmittedRecord]]) -> None:
        """Store the decisions in one transaction, then publish and await every output."""
        async with self._runtime.pool.acquire() as conn, conn.transaction():
            accepted = await ledger.accept(conn, [m.value.record_id for m in batch])
        for m in batch:
            debug_record(
                log, "record decided", m.value.record_id, m.value.submission_id, outcome="accepted"
            )
        await self._runtime.producer.publish_all(
            [self._accepted(m.value) for m in batch if m.value.record_id in accepted],
        )

    def _accepted(self, record: SubmittedRecord) -> Outgoing:
        plot = AcceptedPlot.model_construct(**dict(record), version=1)
        return Outgoing(
            topic=self._accepted_topic,
            value=plot.model_dump_json().encode(),
            key=record.parcel_key.encode(),
            headers={"record.id": str(record.record_id), "commune.code": record.commune_code},
        )


def build(settings: Settings) -> ConsumerRuntime:
    """Wire the reconcile service."""
    runtime = ConsumerRuntime("reconcile", settings, settings.reconcile_port)
    consumer = BatchConsumer(
        runtime.broker,
        runtime.producer,
        settings.topics,
        topic=Topic.SUBMITTED,
        group_id=GROUP_ID,
        model=SubmittedRecord,
        processor=Reconciler(runtime).process,
        max_records=settings.consumer_batch_size,
        batch_timeout_ms=settings.consumer_batch_timeout_ms,
    )
    runtime.on_stop(consumer.stop)
    return runtime
