"""``landsync bench province``: a whole generated province through intake, reconcile and sync.

It runs on the bench stack (``.landsync-bench``, ports 26xxx), with its registry. Every
service runs at once, as in the campaign: records are posted as NDJSON while reconcile decides
and sync sends to the simulator. The clock starts at the first request and stops when every
record is decided, and again when every accepted plot has left sync (synced or dead-lettered).

The ceiling, measured in the same run: a bare idempotent aiokafka producer sending the same
payloads once. It is the least any pipeline that starts with Kafka could take.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from shared.bench.intake import Payload, raw_ceiling, through_intake
from shared.bench.stack import payload, prepared
from shared.db.connection import connected
from shared.settings import Settings
from shared.stack import Stack
from shared.stack.processes import live_pid
from shared.stack.services import SERVICES
from shared.states import FINAL_SQL

# Decided: no record still 'received'. Done: and no accepted plot still waiting for sync.
_PROGRESS = f"""
SELECT count(*) FILTER (WHERE decision <> 'received') AS decided,
       count(*) FILTER (WHERE {FINAL_SQL}) AS settled
FROM records
"""  # noqa: S608 - a constant


@dataclass(frozen=True)
class ProvinceResult:
    """Seconds from the first request, and the same as records per second."""

    records: int
    raw_ceiling: float  # records/s
    submitted_s: float  # every record answered 202
    decided_s: float  # every record decided by reconcile
    settled_s: float  # every accepted plot synced or dead-lettered by sync
    # Per service: the largest resident set of any of its processes, in MB, in the first and in
    # the last quarter of the run (flat memory: the two are close).
    memory_mb: dict[str, tuple[float, float]] = field(default_factory=dict)

    def rate(self, seconds: float) -> float:
        """Records per second over ``seconds``."""
        return self.records / seconds


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _service_memory(stack: Stack) -> dict[str, float]:
    """The largest resident set (MB) among each Python service's processes (workers included)."""
    parents: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            ppid = next(x for x in status.read_text().splitlines() if x.startswith("PPid:"))
            parents.setdefault(int(ppid.split()[1]), []).append(int(status.parent.name))
    memory = {}
    for name in SERVICES:
        pid = live_pid(stack.pidfile(name))
        if pid is not None:
            memory[name] = max(_rss_mb(p) for p in [pid, *parents.get(pid, [])])
    return memory


def _quarters(samples: list[dict[str, float]]) -> dict[str, tuple[float, float]]:
    quarter = max(1, len(samples) // 4)
    first, last = samples[:quarter], samples[-quarter:]
    return {
        name: (max(s.get(name, 0.0) for s in first), max(s.get(name, 0.0) for s in last))
        for name in samples[-1]
    }


async def _measure(
    settings: Settings, stack: Stack, lines: list[bytes], console: Console
) -> ProvinceResult:
    ceiling = await raw_ceiling(settings, Payload.of(lines))
    started = time.perf_counter()
    submit = asyncio.create_task(through_intake(settings, lines, chunk=10_000, concurrency=2))
    submitted_s = decided_s = 0.0
    memory: list[dict[str, float]] = []
    async with connected(settings.dsn) as conn:
        with Progress(
            "{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console,
        ) as bar:  # fmt: skip
            decided_bar = bar.add_task("decided", total=len(lines))
            settled_bar = bar.add_task("synced or dead-lettered", total=len(lines))
            while True:
                await asyncio.sleep(1.0)
                if submit.done() and not submitted_s:
                    submit.result()  # raises if intake refused anything
                    submitted_s = time.perf_counter() - started
                memory.append(_service_memory(stack))
                row = await conn.fetchrow(_PROGRESS)
                assert row is not None
                bar.update(decided_bar, completed=row["decided"])
                bar.update(settled_bar, completed=row["settled"])
                now = time.perf_counter() - started
                if row["decided"] >= len(lines) and not decided_s:
                    decided_s = now
                if row["settled"] >= len(lines) and submitted_s:
                    return ProvinceResult(
                        len(lines), ceiling, submitted_s, decided_s, now, _quarters(memory)
                    )


def run(data: Path, count: int | None, console: Console) -> ProvinceResult:
    """Prepare the bench stack and registry, then time the whole province end to end."""
    settings, stack, _ = prepared(data, console)
    lines = payload(data, count if count is not None else 10**9)
    console.print(f"Submitting {len(lines):,} records with every service running")
    return asyncio.run(_measure(settings, stack, lines, console))
