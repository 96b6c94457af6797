"""Sync's composition root: consumer, national-database client, ledger, sender and retry worker.

Each is built here and passed in explicitly; what a batch does is :mod:`services.sync.service`'s.
While the national database is down the circuit breaker holds every request, so the batch, and
with it consumption, waits without spinning and nothing is committed.
"""

from __future__ import annotations

import logging

import httpx

from services.sync import metrics
from services.sync.breaker import CircuitBreaker, State
from services.sync.client import NationalDbClient
from services.sync.ledger import PgSyncLedger
from services.sync.retries import RetryWorker
from services.sync.service import PlotSender, PlotSync, SendPolicy
from shared.dependencies import NATIONAL_DB, Dependency
from shared.kafka.producer import count_from_zero
from shared.kafka.runtime import ConsumerRuntime
from shared.logging import get_logger
from shared.records import AcceptedPlot
from shared.settings import SyncSettings
from shared.topics import Topic

GROUP_ID = "landsync-sync"
log = get_logger(__name__)


class _Stopping:
    """Set as shutdown begins: the client's waits end, the batch in hand is left uncommitted."""

    def __init__(self) -> None:
        self.now = False

    def __call__(self) -> bool:
        return self.now


def _http(settings: SyncSettings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=settings.national_db,
        # The token lives in the client's default headers only; nothing logs them.
        headers={"Authorization": f"Bearer {settings.national_db_token}"},
        timeout=httpx.Timeout(settings.national_db_timeout_seconds, connect=5.0),
        limits=httpx.Limits(max_connections=settings.sync_concurrency * 2),
    )


def _national_db(
    settings: SyncSettings, http: httpx.AsyncClient, stopping: _Stopping
) -> NationalDbClient:
    breaker = CircuitBreaker(
        failures_to_open=settings.sync_breaker_failures,
        reset_seconds=settings.sync_breaker_reset_seconds,
        max_reset_seconds=settings.sync_breaker_max_reset_seconds,
        probe_timeout=settings.national_db_timeout_seconds + 1,
        on_change=_breaker_changed,
    )
    return NationalDbClient(
        http,
        breaker,
        concurrency=settings.sync_concurrency,
        backoff_initial=settings.sync_backoff_initial_seconds,
        backoff_max=settings.sync_backoff_max_seconds,
        is_stopping=stopping,
        max_retry_after=settings.sync_max_retry_after_seconds,
    )


def _quiet_httpx() -> None:
    # httpx logs every request at INFO: at thousands of plots a second that drowns our events.
    root_level = logging.getLogger().level
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root_level))


_NATIONAL_DB = Dependency(NATIONAL_DB)


def _breaker_changed(state: State) -> None:
    metrics.BREAKER_STATE.set(state)
    log.warning("national database circuit breaker", state=state.name.lower())
    # Up while the breaker lets requests through; an open breaker is the database gone.
    _NATIONAL_DB.report(ok=state != State.OPEN, error="circuit breaker open")


def build(settings: SyncSettings) -> ConsumerRuntime:
    """Wire the sync service."""
    runtime = ConsumerRuntime("sync", settings, settings.sync_port)
    _NATIONAL_DB.report(ok=True)  # the breaker starts closed: requests go through
    stopping = _Stopping()
    http = _http(settings)
    ledger = PgSyncLedger(lambda: runtime.pool)
    policy = SendPolicy(
        settings.sync_batch_size,
        settings.sync_max_attempts,
        settings.sync_backoff_initial_seconds,
        settings.sync_backoff_max_seconds,
    )
    sender = PlotSender(
        _national_db(settings, http, stopping),
        ledger,
        runtime.producer,
        policy,
        dlq_topic=settings.topics.name(Topic.DLQ_SYNC_FAILED),
        group_id=GROUP_ID,
    )
    worker = RetryWorker(
        ledger, sender, poll=settings.sync_retry_poll_seconds, batch_size=settings.sync_batch_size
    )
    sync = PlotSync(ledger, sender, inline_attempts=settings.sync_inline_attempts)

    async def open_() -> None:
        metrics.BREAKER_STATE.set(State.CLOSED)
        _quiet_httpx()
        worker.start()

    def stop() -> None:
        stopping.now = True
        worker.stop()

    async def close() -> None:
        await worker.join()
        await http.aclose()

    runtime.on_open(open_)
    runtime.consume(
        Topic.ACCEPTED,
        group_id=GROUP_ID,
        model=AcceptedPlot,
        processor=sync.process,
        give_up=sync.give_up,
        # Two group members: one batch is on its way to the national database while the next is
        # read and triaged (each member has its own partitions, so a parcel stays in order).
        members=settings.sync_members,
        # Enough plots per Kafka batch to fill every concurrent request: batches are handled one
        # at a time, so a smaller batch would leave the national database waiting on us.
        max_records=max(
            settings.consumer_batch_size, settings.sync_batch_size * settings.sync_concurrency
        ),
        max_poll_interval_ms=int(settings.sync_max_batch_seconds * 1000),
    )
    runtime.on_stop(stop)
    runtime.on_close(close)
    count_from_zero(settings.topics, [Topic.DLQ_SYNC_FAILED])
    return runtime
