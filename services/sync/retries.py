"""The retry worker: sends the plots taken aside to the retry table when their time comes.

Why a durable table rather than a retry topic: the retry table is written in the same PostgreSQL
transaction as the ledger, so "taken aside" and "offset may be committed past it" cannot disagree;
it keeps each parcel's later versions queued behind the earlier one; and it needs no second
consumer group. One plot failing again and again waits there on its own backoff while the topic
flows on. Assumes one sync replica works the table at a time (several would only send some plots
twice, which the idempotency keys make harmless).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Protocol

from services.sync.service import SyncLedger
from services.sync.settle import Pending
from shared.kafka.consumer import ShuttingDownError
from shared.logging import get_logger
from shared.transient import is_transient

log = get_logger(__name__)


class Resender(Protocol):
    """What the worker sends due plots through: ``service.PlotSender``, or a fake in tests."""

    async def sync(
        self, pending: Sequence[Pending], max_failures: int, *, bisect_failures: bool = False
    ) -> None:
        """Send the plots and settle each (synced, dead-lettered or parked again)."""


class RetryWorker:
    """Polls the retry table for due plots; sleeps until the next is due (or ``poll`` at most)."""

    def __init__(
        self, ledger: SyncLedger, sender: Resender, *, poll: float, batch_size: int
    ) -> None:
        self._ledger = ledger
        self._sender = sender
        self._poll = poll
        self._batch_size = batch_size
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start working the table in the background."""
        self._task = asyncio.create_task(self._run(), name="sync-retry-worker")

    def stop(self) -> None:
        """Ask the worker to stop after its current round."""
        self._stopping.set()

    async def join(self) -> None:
        """Wait for the worker to end; a round in flight is abandoned (it is idempotent)."""
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ShuttingDownError):
                await self._task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                wait = await self._round()
            except ShuttingDownError:
                return
            except Exception as exc:
                # An outage is said once by the runtime's dependency check, not every round.
                if not is_transient(exc):
                    log.exception("retry round failed; trying again")
                wait = self._poll
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), wait)

    async def _round(self) -> float:
        pending = await self._ledger.due(self._batch_size)
        next_in = None if pending else await self._ledger.next_due_in()
        if pending:
            # One charged attempt per round, and failing batches split: the plot at fault is
            # charged alone while the others get through.
            await self._sender.sync(pending, max_failures=1, bisect_failures=True)
            return 0.0
        return self._poll if next_in is None else min(max(next_in, 0.05), self._poll)
