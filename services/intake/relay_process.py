"""Runs intake's outbox relay in a process of its own, started and watched by the HTTP process.

Why a process: publishing costs about as much CPU per record as everything else the HTTP process
does. In the same event loop the two took turns on one core; apart, they use two. The relay
process is part of the intake service: the HTTP process starts it, starts it again if it dies,
reports it in ``/readyz`` and stops it (SIGUSR1) at the end of its own graceful shutdown.

The relay ignores SIGTERM and SIGINT, which ``landsync down`` and Ctrl-C send to intake's whole
process group: records that requests still in flight store during the HTTP process's graceful
shutdown are then published before the relay stops. If the HTTP process dies outright, the
kernel kills the relay with it (``die_with_parent``).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
from multiprocessing.process import BaseProcess

from services.intake.outbox import PgOutbox
from services.intake.relay import OutboxRelay
from shared.db.pool import create_pool
from shared.kafka.producer import Producer, count_from_zero
from shared.logging import get_logger
from shared.process import die_with_parent, name_process, prepare_process
from shared.settings import IntakeSettings
from shared.topics import Topic

log = get_logger(__name__)
_WATCH_SECONDS = 1.0
_FINISH_SECONDS = 5.0  # for the batch in flight when told to stop
STOP = signal.SIGUSR1
RELAY_NAME = "intake-relay"  # the process name ps shows


def run(settings: IntakeSettings, parent: int) -> None:
    """The relay process's entry point: relay until SIGUSR1, or until its parent is gone."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(signal.SIGKILL, parent)
    name_process(RELAY_NAME)
    prepare_process("intake", settings)
    asyncio.run(_relay(settings))


async def _relay(settings: IntakeSettings) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(STOP, stop.set)
    pool = await create_pool(
        settings.dsn, min_size=0, max_size=2, application_name="landsync-intake-relay"
    )
    producer = Producer(settings, client_id="landsync-intake-relay")
    count_from_zero(settings.topics, [Topic.SUBMITTED])
    relay = OutboxRelay(
        PgOutbox(pool, settings.dsn),
        producer,
        topic=settings.topics.name(Topic.SUBMITTED),
        batch_size=settings.outbox_batch_size,
        idle_seconds=settings.outbox_idle_seconds,
    )
    task = asyncio.create_task(relay.run(), name="outbox-relay")
    log.info("outbox relay started")
    try:
        await stop.wait()
        relay.stop()
        # A batch cut short would be rolled back and published again by the next relay (at
        # least once); let the one in flight finish, unless the broker keeps it waiting.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), _FINISH_SECONDS)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await relay.close()
        await producer.stop()
        await pool.close()
        log.info("outbox relay stopped")


class RelayProcess:
    """The relay process as the HTTP process sees it: start, watch, restart, stop."""

    def __init__(self, settings: IntakeSettings) -> None:
        self._settings = settings
        # spawn: a fresh interpreter, not a fork of a process with an event loop and threads.
        self._context = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._stopping = False

    @property
    def alive(self) -> bool:
        """Whether the relay process is running."""
        return self._process is not None and self._process.is_alive()

    def start(self) -> None:
        """Start the relay process."""
        process = self._context.Process(
            target=run, args=(self._settings, os.getpid()), name="landsync-intake-relay"
        )
        process.start()
        self._process = process

    async def watch(self) -> None:
        """Start the relay again whenever it exits, until :meth:`stop`; run as a task."""
        while not self._stopping:
            await asyncio.sleep(_WATCH_SECONDS)
            if not self._stopping and not self.alive:
                code = self._process.exitcode if self._process is not None else None
                log.warning("outbox relay process exited; starting it again", exit_code=code)
                self.start()

    async def stop(self, timeout: float) -> None:
        """Tell the relay to stop, wait up to ``timeout`` seconds for it, then SIGKILL it."""
        self._stopping = True
        process = self._process
        if process is None:
            return
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, STOP)
            await asyncio.to_thread(process.join, timeout)
            if process.is_alive():
                process.kill()
                await asyncio.to_thread(process.join, 5)
        process.close()
        self._process = None
