"""The loop that keeps a gauge sampled: an outage is logged once and never ends the task."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog


async def sample_forever(
    sample: Callable[[], Awaitable[None]],
    *,
    log: structlog.stdlib.BoundLogger,
    event: str,
    interval: float,
    outage_interval: float | None = None,
    after_failure: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Call ``sample`` every ``interval`` seconds until cancelled; a failure keeps the last figures.

    The first failure of an outage is logged as ``event``; ``after_failure`` (when given) runs
    after each one, and ``outage_interval`` (when given) spaces the tries while it lasts.
    """
    failing = False
    while True:
        try:
            await sample()
            failing = False
        # An outage, or anything else: a gauge is not worth this task's death.
        except Exception as exc:  # noqa: BLE001 - see the comment above
            if not failing:  # once per outage, not every few seconds
                log.warning(event, error=repr(exc))
            failing = True
            if after_failure is not None:
                with contextlib.suppress(Exception):
                    await after_failure()
        wait = outage_interval if failing and outage_interval is not None else interval
        await asyncio.sleep(wait)
