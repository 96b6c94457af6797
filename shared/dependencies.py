"""Whether Kafka, PostgreSQL and the national database are reachable, said once, not per error.

A dependency that goes away gets one log line, and one when it is back (with how long it was
gone); in between the gauge ``landsync_dependency_up`` is 0 and
``landsync_dependency_failures_total`` counts the failed checks. The libraries' own reconnect
chatter is rate-limited meanwhile (``shared.logging.RateLimit``), and
``landsync_log_lines_suppressed_total`` counts the lines it leaves out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from prometheus_client import Counter, Gauge

from shared.logging import get_logger, on_suppressed

log = get_logger(__name__)

#: The names of the dependencies, as the gauge's label values.
KAFKA, POSTGRES, NATIONAL_DB = "kafka", "postgres", "national_db"

UP = Gauge(
    "landsync_dependency_up",
    "1 while the dependency answers this process's checks, 0 while it does not",
    ["dependency"],
    multiprocess_mode="livemin",  # intake's workers: down if any of them finds it down
)
FAILURES = Counter(
    "landsync_dependency_failures_total",
    "Checks of the dependency that failed",
    ["dependency"],
)
SUPPRESSED = Counter(
    "landsync_log_lines_suppressed_total",
    "Library log lines left out by the rate limit (the written one says how many)",
    ["logger"],
)
on_suppressed(lambda library: SUPPRESSED.labels(library).inc())


class Dependency:
    """One dependency's state as this process sees it; transitions are logged once."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.up: bool | None = None  # unknown until first checked
        self._since = time.monotonic()
        FAILURES.labels(name)  # the series exists at 0 before the first failure

    def report(self, *, ok: bool, error: BaseException | str | None = None) -> None:
        """A check's (or a real call's) outcome."""
        if not ok:
            FAILURES.labels(self.name).inc()
        UP.labels(self.name).set(1 if ok else 0)
        if ok == self.up:
            return
        now = time.monotonic()
        if ok and self.up is False:
            log.info("dependency up", dependency=self.name, down_s=round(now - self._since, 1))
        elif not ok:
            why = error if isinstance(error, str) else type(error).__name__ if error else None
            log.warning("dependency down", dependency=self.name, error=why)
        self.up, self._since = ok, now

    async def watch(
        self, check: Callable[[], Awaitable[bool]], interval: float = 2.0, grace: float = 15.0
    ) -> None:
        """Check every ``interval`` seconds until cancelled; run as a task.

        Until a first check passes, failures in the first ``grace`` seconds are not reported:
        a service's clients are still connecting then, which is not an outage.
        """
        started = time.monotonic()
        while True:
            try:
                ok, error = await check(), None
            except Exception as exc:  # noqa: BLE001 - a check that raises is a failed check
                ok, error = False, exc
            if ok or self.up is not None or time.monotonic() - started >= grace:
                self.report(ok=ok, error=error)
            await asyncio.sleep(interval)


async def pool_answers(pool: asyncpg.Pool[Any], timeout: float = 2.0) -> bool:
    """A PostgreSQL check: ``SELECT 1`` through the pool."""
    return bool(await pool.fetchval("SELECT 1", timeout=timeout))
