"""``landsync bench intake|reconcile|sync|registry|report``: each measure beside its ceiling."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shared.cli.failures import CommandError, Status
from shared.cli.tables import wide_console
from shared.stack import Stack

if TYPE_CHECKING:
    from shared.bench.report import ReportResult

_err = Console(stderr=True)
DataDir = Annotated[
    Path, typer.Option(exists=True, file_okay=False, help="a `landsync generate` directory")
]
Keep = Annotated[bool, typer.Option(help="leave the bench stack running")]
KeepPostgres = Annotated[bool, typer.Option(help="leave the bench PostgreSQL running")]


@contextlib.contextmanager
def _stopped_after(keep: bool) -> Iterator[None]:
    """Stop the bench stack when the block ends, however it ends, unless ``keep``."""
    try:
        yield
    finally:
        if not keep:
            from shared.bench.stack import bench_settings  # noqa: PLC0415

            Stack(bench_settings(), _err).down()


def _show(
    title: str,
    unit: str,
    ceiling: tuple[str, float],
    measures: list[tuple[str, float]],
    summary: dict[str, Any],
) -> None:
    """A table of rates with their ratio to the ceiling, then one JSON line for scripts."""
    table = Table(title=title)
    table.add_column("measure")
    table.add_column(f"{unit}/s", justify="right")
    table.add_column("÷ raw ceiling", justify="right")
    label, raw = ceiling
    table.add_row(f"{label} (ceiling)", f"{raw:,.0f}", "1.00")
    for name, rate in measures:
        table.add_row(name, f"{rate:,.0f}", f"{rate / raw:.2f}")
    wide_console(100).print(table)
    typer.echo(
        json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in summary.items()})
    )


def bench_intake(  # noqa: PLR0917 - typer passes each option by name
    records: Annotated[int, typer.Option(help="records per round")] = 100_000,
    rounds: Annotated[int, typer.Option(help="alternating raw/intake rounds (medians)")] = 3,
    chunk: Annotated[int, typer.Option(help="records per NDJSON request")] = 10_000,
    concurrency: Annotated[int, typer.Option(help="requests in flight")] = 2,
    isolated: Annotated[
        bool, typer.Option(help="pause reconcile and sync so intake has the machine to itself")
    ] = True,
    keep: Keep = False,
) -> None:
    """Bulk NDJSON intake in records/s, against a bare aiokafka producer in the same run."""
    from shared.bench import intake  # noqa: PLC0415 - keeps `landsync --help` fast
    from shared.bench.stack import fresh  # noqa: PLC0415

    with _stopped_after(keep):
        settings, stack = fresh(_err)
        for service in ("reconcile", "sync") if isolated else ():
            stack.stop_service(service)
        result = asyncio.run(
            intake.run(settings, count=records, chunk=chunk, concurrency=concurrency, rounds=rounds)
        )
    _show(
        f"bench intake: {result.rounds} rounds of {result.records:,} records"
        f" ({result.payload_bytes / 1e6:.0f} MB), medians",
        "records",
        ("raw aiokafka producer, send per message", result.raw_ceiling),
        [
            ("LandSync's producer alone, batches by hand", result.batched_ceiling),
            ("intake, all answered 202", result.acknowledged),
            ("intake, all on the topic", result.published),
        ],
        {
            "bench": "intake", "records": result.records, "raw_ceiling": result.raw_ceiling,
            "batched_ceiling": result.batched_ceiling, "acknowledged": result.acknowledged,
            "published": result.published, "ratio": result.ratio,
            "ratio_batched": result.ratio_batched, "rounds": result.rounds, "isolated": isolated,
        },
    )  # fmt: skip


def bench_reconcile(
    data: DataDir,
    records: Annotated[int, typer.Option(help="records to reconcile")] = 100_000,
    keep: Keep = False,
) -> None:
    """Decisions/s with the registry loaded, against raw Kafka consume + produce, one run."""
    from shared.bench import reconcile  # noqa: PLC0415

    with _stopped_after(keep):
        result = reconcile.run(data, records, _err)
    if result.decided is None:
        msg = (
            f"all {result.records:,} records were decided in one batch, at one instant"
            f" ({result.wall:,.0f} records/s start-up included): a sustained rate needs"
            " more --records"
        )
        raise CommandError(msg, Status.USAGE)
    _show(
        f"bench reconcile: {result.records:,} records; registry {result.residents:,} residents,"
        f" {result.certificates:,} certificate rows",
        "records",
        ("raw aiokafka consume + produce", result.raw_ceiling),
        [
            ("reconcile, first to last decision", result.decided),
            ("reconcile, start to all decided", result.wall),
        ],
        {
            "bench": "reconcile", "records": result.records, "residents": result.residents,
            "certificates": result.certificates, "raw_ceiling": result.raw_ceiling,
            "decided": result.decided, "wall": result.wall, "ratio": result.ratio,
        },
    )  # fmt: skip


def bench_sync(
    plots: Annotated[int, typer.Option(help="plots per round")] = 20_000,
    rounds: Annotated[int, typer.Option(help="alternating raw/sync rounds (medians)")] = 3,
    keep: Keep = False,
) -> None:
    """Plots/s through sync to the simulator, against a bare httpx loop in the same run."""
    from shared.bench import sync  # noqa: PLC0415
    from shared.bench.stack import fresh  # noqa: PLC0415

    with _stopped_after(keep):
        settings, _ = fresh(_err)
        result = asyncio.run(sync.run(settings, count=plots, rounds=rounds))
    _show(
        f"bench sync: {result.rounds} rounds of {result.plots:,} plots, medians",
        "plots",
        ("bare httpx loop to the simulator", result.raw_ceiling),
        [("sync, topic to ledger 'synced'", result.synced)],
        {
            "bench": "sync", "plots": result.plots, "raw_ceiling": result.raw_ceiling,
            "synced": result.synced, "ratio": result.ratio, "rounds": result.rounds,
        },
    )  # fmt: skip


def bench_province(
    data: DataDir,
    records: Annotated[int | None, typer.Option(help="only the first N records")] = None,
    keep: Keep = False,
) -> None:
    """A whole generated province through intake, reconcile and sync, all running at once."""
    from shared.bench import province  # noqa: PLC0415

    with _stopped_after(keep):
        result = province.run(data, records, _err)
    _show(
        f"bench province: {result.records:,} records end to end; seconds:"
        f" all answered {result.submitted_s:,.0f}, all decided {result.decided_s:,.0f},"
        f" all synced or dead-lettered {result.settled_s:,.0f}",
        "records",
        ("raw aiokafka producer, same payloads", result.raw_ceiling),
        [
            ("intake, all answered 202", result.rate(result.submitted_s)),
            ("reconcile, all decided", result.rate(result.decided_s)),
            ("sync, all synced or dead-lettered", result.rate(result.settled_s)),
        ],
        {
            "bench": "province", "records": result.records, "raw_ceiling": result.raw_ceiling,
            "submitted_s": result.submitted_s, "decided_s": result.decided_s,
            "settled_s": result.settled_s,
            "memory_mb_first_last_quarter": {
                k: [round(v, 1) for v in pair] for k, pair in result.memory_mb.items()
            },
        },
    )  # fmt: skip
    memory = ", ".join(f"{k} {a:.0f} → {b:.0f}" for k, (a, b) in result.memory_mb.items())
    _err.print(f"Largest process of each service, MB (first quarter → last quarter): {memory}")


def bench_registry(
    data: DataDir,
    keep: KeepPostgres = False,
) -> None:
    """`registry load` rows/s, first load and reload, against a bare COPY, one run."""
    from shared.bench import registry  # noqa: PLC0415

    try:
        results = registry.measure(data)
    finally:
        if not keep:
            Stack(registry.bench_settings(), _err).stop_postgres()
    for r in results:
        _show(
            f"bench registry: {r.kind}, {r.rows:,} rows (load + VACUUM ANALYZE)",
            "rows",
            ("bare COPY into an unlogged, unindexed table", r.raw_ceiling),
            [("registry load, first load", r.first_load), ("registry load, reload", r.reload)],
            {
                "bench": "registry", "kind": r.kind, "rows": r.rows,
                "raw_ceiling": r.raw_ceiling, "first_load": r.first_load, "reload": r.reload,
                "ratio": r.ratio,
            },
        )  # fmt: skip


def bench_latency(
    data: DataDir,
    rate: Annotated[int, typer.Option(help="records posted per second")] = 1_000,
    seconds: Annotated[float, typer.Option(help="how long to post")] = 30.0,
    keep: Keep = False,
) -> None:
    """Milliseconds from intake's 202 to the decision at a steady rate, against bare Kafka."""
    from shared.bench import latency  # noqa: PLC0415

    with _stopped_after(keep):
        result = latency.run(data, rate, seconds, _err)
    table = Table(
        title=f"bench latency: {result.records:,} records at {result.rate:,.0f}/s, milliseconds"
    )
    for column in ("measure", "p50", "p95", "p99", "max"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for label, p in (
        ("bare Kafka, send to receipt (ceiling)", result.raw),
        ("intake 202 to reconcile's decision", result.pipeline),
    ):
        table.add_row(label, *(f"{v:,.0f}" for v in (p.p50, p.p95, p.p99, p.max)))
    wide_console(100).print(table)
    typer.echo(
        json.dumps({
            "bench": "latency", "records": result.records, "rate": round(result.rate, 1),
            "pipeline_ms": {k: round(v, 1) for k, v in vars(result.pipeline).items()},
            "raw_ms": {k: round(v, 1) for k, v in vars(result.raw).items()},
        })
    )  # fmt: skip


def bench_report(
    records: Annotated[int, typer.Option(help="records in the made-up ledger")] = 700_000,
    communes: Annotated[int, typer.Option(help="communes they are spread over")] = 200,
    rounds: Annotated[int, typer.Option(help="alternating rounds of every form (medians)")] = 5,
    keep: KeepPostgres = False,
) -> None:
    """The campaign report in each form on a big ledger (bulk-loaded by COPY), in seconds."""
    from shared.bench import report  # noqa: PLC0415
    from shared.bench.stack import bench_settings  # noqa: PLC0415

    settings = bench_settings()
    stack = Stack(settings, _err)
    was_running = stack.is_running("postgres")
    stack.start_postgres()  # only PostgreSQL: the ledger is copied in, not sent through Kafka
    try:
        _err.print(
            f"Loading {records:,} made-up records of {communes:,} communes over"
            f" {report.DAYS} days into {settings.state_dir}'s PostgreSQL by COPY"
            " (records and cases directly, not through intake, Kafka, reconcile or sync)"
        )
        result = asyncio.run(
            report.run(settings, records=records, communes=communes, rounds=rounds)
        )
    finally:
        if not keep and not was_running:
            stack.stop_postgres()
    _show_report(result, rounds)


def _show_report(result: ReportResult, rounds: int) -> None:
    """Seconds per form with its ratio to a bare pass over ``records``, then one JSON line."""
    from shared.bench.report import LIMIT_SECONDS  # noqa: PLC0415

    loaded, (ceiling, *_) = result.loaded, result.ceilings
    table = Table(
        title=f"bench report: {loaded.records:,} records, {loaded.cases:,} cases,"
        f" {loaded.communes:,} communes (COPY + VACUUM ANALYZE {loaded.seconds:,.0f} s);"
        f" {rounds} rounds, medians"
    )
    for column in ("measure", "seconds", "÷ raw ceiling", "fastest", "slowest"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for m in result.ceilings:
        table.add_row(
            f"ceiling, {m.name}", f"{m.median:.3f}", f"{m.median / ceiling.median:.2f}",
            f"{min(m.seconds):.3f}", f"{max(m.seconds):.3f}",
        )  # fmt: skip
    for m in result.forms:
        table.add_row(
            m.name, f"{m.median:.3f}", f"{m.median / ceiling.median:.2f}",
            f"{min(m.seconds):.3f}", f"{max(m.seconds):.3f}",
        )  # fmt: skip
    wide_console(120).print(table)
    slowest, load = result.slowest, os.getloadavg()[0]
    verdict = "within" if slowest.median <= LIMIT_SECONDS else "OVER"
    _err.print(
        f"Slowest form: {slowest.median:.3f} s, {verdict} the {LIMIT_SECONDS:.0f} s of issue #12;"
        f" the HTML page is {loaded.html_bytes / 1000:,.0f} kB; load average {load:.1f}"
        f" on {os.cpu_count()} cores (a busy machine slows the ceiling too: compare ratios)"
    )
    typer.echo(
        json.dumps({
            "bench": "report", "records": loaded.records, "cases": loaded.cases,
            "communes": loaded.communes, "load_s": round(loaded.seconds, 1), "rounds": rounds,
            "ceiling_s": {m.name.split(": ")[1]: round(m.median, 4) for m in result.ceilings},
            "forms_s": {m.name.split(" (")[0]: round(m.median, 4) for m in result.forms},
            "slowest_s": round(slowest.median, 4),
            "slowest_ratio": round(slowest.median / ceiling.median, 2),
            "html_bytes": loaded.html_bytes, "load_average": round(load, 2),
        }, ensure_ascii=False)
    )  # fmt: skip


def register(bench: typer.Typer) -> None:
    """Add the benchmarks to ``landsync bench``."""
    bench.command("intake")(bench_intake)
    bench.command("reconcile")(bench_reconcile)
    bench.command("sync")(bench_sync)
    bench.command("registry")(bench_registry)
    bench.command("province")(bench_province)
    bench.command("latency")(bench_latency)
    bench.command("report")(bench_report)
