"""Validates an upload's chunks on the validator processes and stores them in the file's order."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from services.intake.service import BatchAnswer
from services.intake.validation import Checked, Line, Validator

Store = Callable[[Checked], Coroutine[Any, Any, BatchAnswer]]


class Pipeline:
    """Up to one chunk per validator process validates while the chunk before them is stored.

    So the validators and the database work at the same time. Chunks are stored one after
    another, in the order they were added, which keeps each parcel's records in order.
    """

    def __init__(self, validator: Validator, store: Store) -> None:
        self._validator = validator
        self._store = store
        self._validating: deque[asyncio.Task[Checked]] = deque()
        self._storing: asyncio.Task[BatchAnswer] | None = None
        self._outcome = BatchAnswer()

    async def add(self, chunk: list[Line]) -> None:
        """Start validating ``chunk``; waits while every validator already has one."""
        self._validating.append(asyncio.create_task(self._validator.check(chunk)))
        if len(self._validating) > self._validator.processes:
            await self._store_next()

    async def finish(self) -> BatchAnswer:
        """Wait for every chunk to be stored; the outcome of them all."""
        while self._validating:
            await self._store_next()
        await self._stored()
        return self._outcome

    def cancel(self) -> None:
        """Abandon what is still running (the request failed; the client sends the file again)."""
        for task in (*self._validating, self._storing):
            if task is not None and not task.done():
                task.cancel()

    async def _store_next(self) -> None:
        checked = await self._validating.popleft()
        await self._stored()
        self._storing = asyncio.create_task(self._store(checked))

    async def _stored(self) -> None:
        if self._storing is not None:
            self._outcome.extend(await self._storing)
            self._storing = None
