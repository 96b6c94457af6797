"""Sync's composition root: consumes accepted plots and sends them to the national database.

Per batch of ``land.plots.accepted`` (the BatchConsumer commits only after this returns): plots
the ledger already holds as synced are skipped (a redelivery); plots of a parcel with an earlier
version in the retry table queue behind it; the rest go out in concurrent requests with a few
retries each. Each plot is then synced, dead-lettered, or taken aside to the durable retry table
(see :mod:`services.sync.retries`), so the offset moves on only past plots that are settled or
durably parked. While the national database is down the circuit breaker holds every request,
so the batch, and with it consumption, waits without spinning and nothing is committed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import httpx

from services.sync import ledger, metrics
from services.sync.breaker import CircuitBreaker, State
from services.sync.client import NationalDbClient
from services.sync.retries import RetryWorker
from services.sync.service import PlotSender
from services.sync.settle import Pending
from shared.dependencies import NATIONAL_DB, Dependency
from shared.kafka.consumer import BatchConsumer, GivenUp, Incoming
from shared.kafka.dlq_guard import GuardLimits
from shared.kafka.producer import count_from_zero
from shared.kafka.runtime import ConsumerRuntime
from shared.logging import get_logger
from shared.records import AcceptedPlot
from shared.settings import Settings
from shared.topics import Topic
from shared.tracing import BatchSpans

GROUP_ID = "landsync-sync"
log = get_logger(__name__)


class PlotSync:
    """The sync service's parts, created when the runtime opens and closed after it stops."""

    def __init__(self, runtime: ConsumerRuntime) -> None:
        self._runtime = runtime
        self._settings = runtime.settings
        self._stopping = False
        self._http: httpx.AsyncClient | None = None
        self._sender: PlotSender | None = None
        self._worker: RetryWorker | None = None

    async def open(self) -> None:
        """Create the HTTP client, the breaker and the retry worker."""
        s = self._settings
        metrics.BREAKER_STATE.set(State.CLOSED)
        # httpx logs every request at INFO: at thousands of plots a second that drowns our events.
        root_level = logging.getLogger().level
        for noisy in ("httpx", "httpcore"):
            logging.getLogger(noisy).setLevel(max(logging.WARNING, root_level))
        self._http = httpx.AsyncClient(
            base_url=s.national_db,
            # The token lives in the client's default headers only; nothing logs them.
            headers={"Authorization": f"Bearer {s.national_db_token}"},
            timeout=httpx.Timeout(s.national_db_timeout_seconds, connect=5.0),
            limits=httpx.Limits(max_connections=s.sync_concurrency * 2),
        )
        breaker = CircuitBreaker(
            failures_to_open=s.sync_breaker_failures,
            reset_seconds=s.sync_breaker_reset_seconds,
            max_reset_seconds=s.sync_breaker_max_reset_seconds,
            probe_timeout=s.national_db_timeout_seconds + 1,
            on_change=_breaker_changed,
        )
        client = NationalDbClient(
            self._http,
            breaker,
            concurrency=s.sync_concurrency,
            backoff_initial=s.sync_backoff_initial_seconds,
            backoff_max=s.sync_backoff_max_seconds,
            is_stopping=lambda: self._stopping,
            max_retry_after=s.sync_max_retry_after_seconds,
        )
        self._sender = PlotSender(client, self._runtime.pool, self._runtime.producer, s, GROUP_ID)
        self._worker = RetryWorker(
            self._runtime.pool,
            self._sender,
            poll=s.sync_retry_poll_seconds,
            batch_size=s.sync_batch_size,
        )
        self._worker.start()

    def stop(self) -> None:
        """Shutdown begins: waits end, the batch in hand is left uncommitted."""
        self._stopping = True
        if self._worker is not None:
            self._worker.stop()

    async def close(self) -> None:
        """Stop the retry worker and close the HTTP client."""
        if self._worker is not None:
            await self._worker.join()
        if self._http is not None:
            await self._http.aclose()

    async def process(self, batch: Sequence[Incoming[AcceptedPlot]]) -> None:
        """Sync one batch; returns once every plot is synced, dead-lettered or parked."""
        if self._sender is None:
            raise RuntimeError("sync is not open yet")
        pending = [_pending(m) for m in batch]
        async with self._runtime.pool.acquire() as conn:
            done, parked = await ledger.triage(
                conn, [p.record_id for p in pending], list({p.parcel_key for p in pending})
            )
        todo = [p for p in pending if p.record_id not in done]
        with BatchSpans("sync.send", [m.origin.headers for m in batch]) as spans, spans.current():
            await self._sender.queue([p for p in todo if p.parcel_key in parked])
            await self._sender.sync(
                [p for p in todo if p.parcel_key not in parked],
                self._settings.sync_inline_attempts,
            )

    async def give_up(self, given_up: Sequence[GivenUp]) -> None:
        """Plots dead-lettered as poison end failed in the ledger, with the poison reason."""
        rows = [(g.record_id, g.reason.value, g.detail, 0) for g in given_up if g.record_id]
        async with self._runtime.pool.acquire() as conn:
            await ledger.mark_failed(conn, rows)


def _pending(message: Incoming[AcceptedPlot]) -> Pending:
    plot = message.value
    return Pending(plot.record_id, plot.parcel_key, plot.version, plot.commune_code, message.origin)


_NATIONAL_DB = Dependency(NATIONAL_DB)


def _breaker_changed(state: State) -> None:
    metrics.BREAKER_STATE.set(state)
    log.warning("national database circuit breaker", state=state.name.lower())
    # Up while the breaker lets requests through; an open breaker is the database gone.
    _NATIONAL_DB.report(ok=state != State.OPEN, error="circuit breaker open")


def build(settings: Settings) -> ConsumerRuntime:
    """Wire the sync service."""
    runtime = ConsumerRuntime("sync", settings, settings.sync_port)
    _NATIONAL_DB.report(ok=True)  # the breaker starts closed: requests go through
    sync = PlotSync(runtime)
    consumer = BatchConsumer(
        runtime.broker,
        runtime.producer,
        settings.topics,
        topic=Topic.ACCEPTED,
        group_id=GROUP_ID,
        model=AcceptedPlot,
        processor=sync.process,
        # Enough plots per Kafka batch to fill every concurrent request: batches are handled one
        # at a time, so a smaller batch would leave the national database waiting on us.
        max_records=max(
            settings.consumer_batch_size, settings.sync_batch_size * settings.sync_concurrency
        ),
        batch_timeout_ms=settings.consumer_batch_timeout_ms,
        # Two group members: one batch is on its way to the national database while the next is
        # read and triaged (each member has its own partitions, so a parcel stays in order).
        members=settings.sync_members,
        max_poll_interval_ms=int(settings.sync_max_batch_seconds * 1000),
        guard=GuardLimits(settings.dlq_guard_max_run, settings.dlq_guard_max_ratio),
        give_up=sync.give_up,
    )
    runtime.on_open(sync.open)
    runtime.on_stop(consumer.stop)
    runtime.not_ready_while(lambda: consumer.tripped)
    runtime.on_stop(sync.stop)
    runtime.on_close(sync.close)
    count_from_zero(settings.topics, [Topic.DLQ_SYNC_FAILED])
    return runtime
