"""A chaos run end to end: a fresh stack of its own, records sent under faults, the checks."""

from __future__ import annotations

import asyncio
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import orjson
from rich.console import Console

from shared.auth import create_key_at
from shared.chaos import collect
from shared.chaos.checks import Evidence, Row, check_all
from shared.chaos.inject import Injector
from shared.chaos.schedule import Fault, schedule
from shared.chaos.submit import submit_paced
from shared.db.connection import connected
from shared.evaluate import Expected
from shared.settings import PROJECT_ROOT, Settings, isolated
from shared.stack import Stack

BASE = 27_000  # below the ephemeral port range (see shared.settings.isolated)


@dataclass(frozen=True)
class Plan:
    """What to run: how many records, the seed of the data and the faults, how long."""

    records: int = 2_000
    seed: int = 1
    duration: float = 60.0  # records are sent in its first 85 %, faults start in its first 80 %
    faults: int | None = None  # None: every kind of fault once
    drain_timeout: float = 300.0
    port_base: int = BASE
    state_dir: Path = PROJECT_ROOT / ".landsync-chaos"


@dataclass
class Result:
    """The checks' rows and what happened on the way."""

    rows: list[Row]
    faults: list[Fault]
    evidence: Evidence
    log: list[str] = field(default_factory=list)
    submitted: int = 0
    acknowledged: int = 0
    seconds: float = 0.0
    #: what the faults cost the stack: the supervisor's restarts, the simulator's refusals
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(r.passed for r in self.rows)


def chaos_settings(plan: Plan) -> Settings:
    """The chaos stack's settings: quick restarts, no crash-loop give-up, a journalled simulator."""
    return isolated(
        plan.port_base,
        plan.state_dir,
        # A killed simulator comes back with what it had applied, so a second write shows.
        national_db_journal=True,
        supervisor_max_restarts=1_000,  # a run kills each component on purpose, again and again
        supervisor_backoff_initial_seconds=0.5,
        supervisor_backoff_max_seconds=4.0,
        topic_partitions=3,
        dlq_partitions=1,
        outbox_idle_seconds=0.2,
    )


def data_dir(plan: Plan) -> Path:
    """Where the run's generated province is kept between runs of the same size and seed."""
    return plan.state_dir.with_name(f"{plan.state_dir.name}-data") / f"{plan.records}-{plan.seed}"


def _generated(plan: Plan, console: Console) -> Path:
    from shared.generate.province import generate  # noqa: PLC0415 - only a run needs it
    from shared.generate.rates import Rates  # noqa: PLC0415

    out = data_dir(plan)
    if not (out / "truth.jsonl").exists():
        console.print(f"Generating {plan.records:,} records (seed {plan.seed}) into {out}")
        communes = max(1, min(99, plan.records // 20_000))
        generate(out, communes_count=communes, plots=plan.records, seed=plan.seed, rates=Rates())
    return out


def _truth(out: Path) -> dict[str, Expected]:
    from shared.cli.evaluate_command import read_truth  # noqa: PLC0415 - the CLI's reader

    return read_truth(out / "truth.jsonl")


async def _load_registry(settings: Settings, out: Path) -> None:
    from shared.reference import store  # noqa: PLC0415
    from shared.reference.parse import ParseResult  # noqa: PLC0415

    # The migration role: a load rebuilds the table's indexes, which only the owner may.
    async with connected(settings.migration_dsn, server_settings=store.SESSION_SETTINGS) as conn:
        for kind in ("residents", "certificates"):
            await store.load_file(conn, kind, out / f"{kind}.csv", ParseResult())
            await store.tidy(conn, kind)


def _fresh(stack: Stack) -> None:
    """Start the chaos stack from an empty state dir, supervised."""
    stack.down()
    shutil.rmtree(stack.settings.state_dir, ignore_errors=True)
    stack.up(supervise=True)


def run(plan: Plan, console: Console) -> Result:
    """Generate, start the stack, submit under the schedule's faults, drain, check; stop it."""
    out = _generated(plan, console)
    with (out / "records.jsonl").open("rb") as f:
        lines = [line.rstrip(b"\n") for _, line in zip(range(plan.records), f, strict=False)]
    stack = Stack(chaos_settings(plan), console)
    try:  # a stack that failed half-way up is stopped too
        _fresh(stack)
        asyncio.run(_load_registry(stack.settings, out))
        return asyncio.run(_chaos(plan, stack, lines, _truth(out), console))
    finally:
        stack.down()


async def _chaos(
    plan: Plan, stack: Stack, lines: list[bytes], truth: dict[str, Expected], console: Console
) -> Result:
    settings = stack.settings
    communes = sorted({orjson.loads(line)["commune_code"] for line in lines})
    key, _ = await create_key_at(settings.dsn, "submitter", communes, "landsync chaos")
    faults = schedule(plan.seed, plan.duration, plan.faults)
    injector = Injector(stack, settings)
    began = time.monotonic()

    async def at(fault: Fault) -> float | None:
        await asyncio.sleep(max(0.0, began + fault.at_seconds - time.monotonic()))
        hit = await injector.apply(fault)
        return time.monotonic() - began if hit else None

    console.print(
        f"Sending {len(lines):,} records over {plan.duration:.0f} s; {len(faults)} faults"
    )
    try:
        sent, ends = await asyncio.gather(
            # Sent until after the last fault starts, so every fault meets records in flight.
            submit_paced(settings, key, lines, plan.duration * 0.85),
            asyncio.gather(*(at(f) for f in faults)),
        )
    finally:
        injector.resume_all()
    acknowledged = sent.acknowledged
    applied = [e for e in ends if e is not None]
    last_end = max(applied, default=None)
    console.print(f"{len(acknowledged):,} records answered 202; waiting for them to be final")
    drained = await _drained(settings, list(acknowledged), began, plan.drain_timeout)
    evidence = Evidence(
        acknowledged=acknowledged,
        ledger=await collect.ledger_rows(settings),
        decisions=await collect.decisions(settings),
        applied=collect.applied(settings.national_db_journal_file),
        truth=truth,
        faults_scheduled=len(faults),
        faults_applied=len(applied),
        last_fault_end=last_end,
        last_acknowledged_at=None if sent.last_at is None else sent.last_at - began,
        drained_at=drained,
        drain_timeout=plan.drain_timeout,
    )
    seconds = time.monotonic() - began
    return Result(check_all(evidence), faults, evidence, injector.log, len(lines),
                  len(acknowledged), seconds, await _notes(stack))  # fmt: skip


async def _notes(stack: Stack) -> list[str]:
    restarted = ", ".join(f"{n} {k}" for n, k in collect.restarts(stack).items()) or "none"
    stats = await collect.simulator_stats(stack.settings)
    absorbed = stats.get("duplicates_suppressed", 0)
    refused = stats.get("unavailable", 0) + stats.get("rate_limited", 0)
    p50, p99, slowest = await collect.waits(stack.settings)
    return [
        f"supervisor restarts: {restarted}",
        f"202 to final: median {p50:.1f} s, p99 {p99:.1f} s, slowest {slowest:.1f} s",
        (
            f"national db: {refused:,} requests answered 503/429, {absorbed:,} replayed items"
            " absorbed by their idempotency keys"
        ),
    ]


async def _drained(
    settings: Settings, record_ids: list[str], began: float, timeout: float
) -> float | None:
    """Seconds after ``began`` when every record was final, or None at the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if await collect.count_final(settings, record_ids) == len(record_ids):
                return time.monotonic() - began
        except (OSError, asyncpg.PostgresError, TimeoutError):
            pass  # the database is still coming back
        await asyncio.sleep(0.5)
    return None
