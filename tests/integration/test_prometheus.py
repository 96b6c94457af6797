"""A real Prometheus scraping the stack: every dashboard query shows data, every alert evaluates."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml

from shared.reasons import PoisonReason
from shared.settings import PROJECT_ROOT, Settings
from shared.stack import Stack
from shared.stack import processes as proc
from tests.conftest import KeyFactory
from tests.dashboard import all_panels, load_dashboard
from tests.prometheus import SCRAPE_SECONDS, Prometheus
from tests.support import bearer, eventually, make_record, published, register, submit

ALERTS = PROJECT_ROOT / "deploy" / "prometheus" / "alerts.yml"
COMMUNE = "07246"  # no other test decides records of this commune: its counters are ours
JOBS = ("intake", "reconcile", "sync")
BATCH = 6
PUBLISHED = "sum(landsync_intake_outbox_published_total)"
# Grafana's $__rate_interval is max($__interval + scrape interval, 4 * scrape interval); a little
# more here, so that a window always holds two scrapes of a slow /metrics.
BUILT_INS = {"__rate_interval": f"{8 * SCRAPE_SECONDS}s", "__interval": "2s", "__range": "1h"}


def _variables(dashboard: dict[str, Any]) -> dict[str, str]:
    """What Grafana puts for each variable: a query variable's "All" value, then built-ins."""
    chosen = {
        v["name"]: v.get("allValue", ".*")
        for v in dashboard["templating"]["list"]
        if v["type"] == "query"
    }
    return chosen | BUILT_INS


def _substitute(expr: str, variables: dict[str, str]) -> str:
    # $name and ${name}; an unknown variable raises KeyError, naming it.
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: variables[m.group(1) or m.group(2)], expr)


def _queries() -> list[tuple[str, str]]:
    """(panel title and refId, PromQL) of every target of every panel, variables substituted."""
    dashboard = load_dashboard()
    variables = _variables(dashboard)
    return [
        (f"{panel['title']} [{target['refId']}]", _substitute(target["expr"], variables))
        for panel in all_panels(dashboard["panels"])
        for target in panel.get("targets", [])
    ]


@pytest.fixture(scope="module")
def prometheus(stack: Stack, settings: Settings) -> Iterator[Prometheus]:
    """Prometheus scraping the test stack's services every second, on base port + 95."""
    server = Prometheus(settings, port=settings.national_db_port + 5)
    server.up()
    try:
        yield server
    finally:
        server.down()


async def _query(client: httpx.AsyncClient, expr: str) -> list[dict[str, Any]]:
    answer = await client.get("/api/v1/query", params={"query": expr})
    body = answer.json()
    assert body["status"] == "success", f"{expr}: {body}"
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


async def _value(client: httpx.AsyncClient, expr: str) -> float:
    """The value of a query that returns one series (``sum(...)``), or 0 with none."""
    result = await _query(client, expr)
    return float(result[0]["value"][1]) if result else 0.0


@pytest.fixture(scope="module")
async def batch(
    prometheus: Prometheus, intake: httpx.AsyncClient, db: asyncpg.Pool[Any], new_key: KeyFactory
) -> float:
    """Six records submitted, decided and scraped: accepted, rejected and dead-lettered.

    Returns the outbox counter's sum before they were submitted.
    """
    async with httpx.AsyncClient(base_url=prometheus.url, timeout=10) as client:

        async def all_up() -> bool:
            targets = (await client.get("/api/v1/targets")).json()["data"]["activeTargets"]
            health = {t["labels"]["job"]: t["health"] for t in targets}
            return health == dict.fromkeys(JOBS, "up")

        await eventually(all_up, timeout=30)
        before = await _value(client, PUBLISHED)

        key = await new_key("submitter", [COMMUNE])
        records = [make_record(COMMUNE) for _ in range(BATCH)]
        records[4]["collection_status"] = "owner_absent"  # dead-lettered
        rejected = records[5]  # a serial no certificate has
        rejected["certificate"] = {**rejected["certificate"], "serial": "ZZ 000002"}
        rejected["scan_file"] = "ZZ000002.pdf"
        await register(db, *records[:5])
        ids = await submit(intake, key, *records)

        await published(db, ids)

        decisions = f'landsync_reconcile_decisions_total{{commune="{COMMUNE}"}}'

        async def scraped() -> bool:
            # Prometheus sees the decisions one scrape after reconcile counted them.
            outcomes = {
                r["metric"]["outcome"]: float(r["value"][1])
                for r in await _query(client, f"sum by (outcome) ({decisions})")
            }
            return outcomes.get("accepted") == 4 and outcomes.get("dead_lettered", 0) >= 1

        await eventually(scraped, timeout=30)
    return before


def _resident_bytes(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    kilobytes = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert kilobytes is not None
    return int(kilobytes.group(1)) * 1024


async def test_every_dashboard_query_returns_series_after_a_small_batch(
    prometheus: Prometheus, batch: float, stack: Stack
) -> None:
    async with httpx.AsyncClient(base_url=prometheus.url, timeout=10) as client:
        # The relay counts what it published: six records, and nothing else is in flight here
        # unless another test runs alongside, which can only add to it. Intake's target is
        # scraped on its own clock (its multiprocess /metrics is the slowest): wait for it.
        async def counted() -> bool:
            return await _value(client, PUBLISHED) - batch >= BATCH

        await eventually(counted, timeout=30)
        for job in JOBS:
            memory = await _value(client, f'sum(process_resident_memory_bytes{{job="{job}"}})')
            assert memory > 20e6, f"{job} reports {memory} bytes of resident memory"
        # Intake's figure is its HTTP process's, its outbox relay's and its validators' summed.
        intake_pid = proc.live_pid(stack.pidfile("intake"))
        assert intake_pid is not None
        memory = await _value(client, 'sum(process_resident_memory_bytes{job="intake"})')
        assert memory > 1.5 * _resident_bytes(intake_pid)

        # A series born in this batch needs two scrapes in a window before rate() shows it.
        empty: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            empty = [title for title, expr in _queries() if not await _query(client, expr)]
            if not empty:
                break
            await asyncio.sleep(SCRAPE_SECONDS)
        assert empty == [], f"dashboard panels with no series: {empty}"

        communes = await client.get(
            "/api/v1/label/commune/values",
            params={"match[]": "landsync_reconcile_decisions_total"},
        )
        assert COMMUNE in communes.json()["data"], "the commune variable does not offer it"


async def test_every_alert_evaluates_on_metrics_the_stack_exposes(
    prometheus: Prometheus, batch: float
) -> None:
    # After the batch: the metrics that appear only once records flow exist.
    rules = [
        r for g in yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"] for r in g["rules"]
    ]
    async with httpx.AsyncClient(base_url=prometheus.url, timeout=10) as client:

        async def evaluated() -> dict[str, str] | None:
            groups = (await client.get("/api/v1/rules")).json()["data"]["groups"]
            health = {r["name"]: r["health"] for g in groups for r in g["rules"]}
            return health if "unknown" not in health.values() else None

        health = await eventually(evaluated, timeout=30)
        assert health == dict.fromkeys((r["alert"] for r in rules), "ok")
        # An alert on a metric nobody exposes is never raised: each one it reads has series.
        names = {n for r in rules for n in re.findall(r"\blandsync_\w+", r["expr"])}
        missing = [n for n in sorted(names) if not await _query(client, f"count({n})")]
        assert missing == [], f"alerts read metrics with no series: {missing}"
        # No poison in this batch, yet its series exist at 0 in both consumers, or the poison
        # alert's increase() would miss a service's first poison message.
        poison = 'landsync_dead_letters_published_total{topic=~".*land[.]dlq[.]poison"}'
        series = await _query(client, poison)
        assert {(s["metric"]["job"], s["metric"]["reason"]) for s in series} >= {
            (job, reason) for job in ("reconcile", "sync") for reason in PoisonReason
        }


async def test_with_reconcile_stopped_its_backlog_and_lag_show_and_service_down_pends(
    prometheus: Prometheus,
    batch: float,
    stack: Stack,
    intake: httpx.AsyncClient,
    db: asyncpg.Pool[Any],
    new_key: KeyFactory,
) -> None:
    # The backlog (in the ledger) and the group's lag (its committed offsets) are measured by
    # intake, so they show exactly when reconcile, which reports its own lag, is gone.
    key = await new_key("submitter", [COMMUNE])
    record = make_record(COMMUNE)
    await register(db, record)
    async with httpx.AsyncClient(base_url=prometheus.url, timeout=10) as client:
        stack.stop_service("reconcile")
        try:
            posted = await intake.post("/v1/records", json=[record], headers=bearer(key))
            assert posted.status_code == 202, posted.text

            async def seen() -> bool:
                undecided = await _value(client, "max(landsync_records_undecided)")
                oldest = await _value(client, "max(landsync_records_undecided_oldest_seconds)")
                alerts = (await client.get("/api/v1/alerts")).json()["data"]["alerts"]
                down = {
                    a["state"]
                    for a in alerts
                    if a["labels"]["alertname"] == "LandSyncServiceDown"
                    and a["labels"]["job"] == "reconcile"
                }
                behind = await _value(
                    client,
                    'sum(landsync_consumer_group_lag_messages{group="landsync-reconcile"})',
                )
                # for: 2m, so pending
                return undecided >= 1 and oldest >= 1 and behind >= 1 and down == {"pending"}

            await eventually(seen, timeout=30)
        finally:
            stack.start_service("reconcile")

        async def caught_up() -> bool:
            return await _value(client, "max(landsync_records_undecided)") == 0

        await eventually(caught_up, timeout=60)
