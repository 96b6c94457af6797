"""Reconcile's composition root: the batch consumer of submitted records and its processor."""

from __future__ import annotations

from services.reconcile import repository
from services.reconcile.service import Reconciler
from shared.kafka.producer import count_from_zero
from shared.kafka.runtime import ConsumerRuntime
from shared.records import SubmittedRecord
from shared.settings import ReconcileSettings
from shared.topics import Topic

GROUP_ID = "landsync-reconcile"


def build(settings: ReconcileSettings) -> ConsumerRuntime:
    """Wire the reconcile service."""
    runtime = ConsumerRuntime("reconcile", settings, settings.reconcile_port)
    count_from_zero(
        settings.topics,
        [Topic.ACCEPTED, Topic.REJECTED, Topic.DLQ_OWNER_UNRESOLVED, Topic.DLQ_MORTGAGED],
    )

    ledger = repository.PgLedger(lambda: runtime.pool)
    runtime.consume(
        Topic.SUBMITTED,
        group_id=GROUP_ID,
        model=SubmittedRecord,
        processor=Reconciler(ledger, runtime.producer, settings.topics, GROUP_ID).process,
        give_up=ledger.give_up,
        members=settings.reconcile_members,
    )
    return runtime
