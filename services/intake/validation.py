"""Validates Form 01 records, in worker processes for big batches, so one upload uses every core.

Why processes: validating a record and writing its normalised JSON is pure CPU (about 20 µs a
record), and one NDJSON upload arrives on one connection, served by one event loop. Done there,
that loop's core caps intake. Chunks of raw lines go to a pool of validator processes instead; the
request's process only reads the body, stores and answers, and several chunks validate at once
while the previous one is stored. Small requests are validated where they arrive: a round trip to
another process would cost them more than it saves.

Only picklable column lists cross the process boundary: the validated records stay in the
validator, and what returns is what the ledger stores.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from shared.logging import get_logger
from shared.process import die_with_parent, name_process, report_process_metrics
from shared.records import Form01Record

log = get_logger(__name__)
VALIDATOR_NAME = "intake-valid"  # the process name ps shows
INLINE_BELOW = 100  # lines; fewer are validated in the request's own process
Line = tuple[int, bytes]  # a record's index in the request, and its raw JSON


@dataclass
class Checked:
    """A chunk's outcome: the valid records as columns, and the errors of the others by index."""

    indexes: list[int] = field(default_factory=list)
    submission_ids: list[str] = field(default_factory=list)
    commune_codes: list[str] = field(default_factory=list)
    parcel_keys: list[str] = field(default_factory=list)
    records: list[str] = field(default_factory=list)  # normalised record JSON, as stored
    content_hashes: list[bytes] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.indexes)


def check(lines: list[Line]) -> Checked:
    """Validate raw JSON records: the pure step, the same in a validator process or inline."""
    out = Checked()
    for index, raw in lines:
        try:
            # From JSON, not Python objects: that keeps the strict JSON rules (ISO dates only).
            record = Form01Record.model_validate_json(raw)
        except ValidationError as exc:
            errors = [
                {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                for e in exc.errors(include_url=False, include_input=False)
            ]
            out.errors.append({"index": index, "errors": errors})
            continue
        record_json = record.canonical_json()
        out.indexes.append(index)
        out.submission_ids.append(record.submission_id)
        out.commune_codes.append(record.commune_code)
        out.parcel_keys.append(record.parcel_key)
        out.records.append(record_json)
        # A digest of the normalised content tells a true resubmission from a reused id.
        out.content_hashes.append(hashlib.sha256(record_json.encode()).digest())
    return out


def _prepare_validator(parent: int) -> None:
    # The pool's workers never notice their parent's death by themselves (each holds its own
    # task queue's write end), so an intake killed outright would leave them behind.
    die_with_parent(signal.SIGKILL, parent)
    name_process(VALIDATOR_NAME)
    # As in every LandSync process (shared.process): a chunk keeps thousands of objects alive.
    gc.set_threshold(50_000, 20, 20)
    gc.freeze()
    report_process_metrics()  # validation is most of intake's CPU: count it in /metrics


class Validator:
    """Runs :func:`check` inline or on a pool of ``processes`` validator processes (0: none)."""

    def __init__(self, processes: int) -> None:
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None

    @property
    def processes(self) -> int:
        """How many validator processes big batches are spread over."""
        return self._processes

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn: a fresh interpreter rather than a fork of this process, with its event loop,
        # threads and sockets. Not forkserver: its validators would be the fork server's
        # children, and could not be tied to this process's life (see _prepare_validator).
        return ProcessPoolExecutor(
            self._processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_prepare_validator,
            initargs=(os.getpid(),),
        )

    async def start(self) -> None:
        """Start the validator processes now, so that big uploads seldom wait for them to boot."""
        if self._processes <= 0 or self._pool is not None:
            return
        self._pool = self._new_pool()
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._pool, check, []) for _ in range(self._processes))
        )

    async def check(self, lines: list[Line]) -> Checked:
        """The outcome of ``lines``; a lost validator process costs a retry here, not the chunk."""
        if self._pool is None or len(lines) < INLINE_BELOW:
            return check(lines)
        pool = self._pool
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, check, lines)
        except BrokenProcessPool:
            # A validator died (killed, out of memory): the pool refuses all work from then on.
            # Replace it once, and validate this chunk here so the request still succeeds.
            log.warning("validator process lost; starting new ones", processes=self._processes)
            if self._pool is pool:
                pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
            return check(lines)

    def close(self) -> None:
        """Stop the validator processes."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
