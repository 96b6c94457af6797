"""deploy/prometheus and deploy/grafana name the ports and the metrics the code really has."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import yaml
from prometheus_client.metrics import MetricWrapperBase

from shared.reasons import DEAD_LETTER_REASONS
from shared.settings import PROJECT_ROOT, Settings
from shared.topics import Topic
from tests.dashboard import DASHBOARD, all_panels, load_dashboard

PROMETHEUS = PROJECT_ROOT / "deploy" / "prometheus" / "prometheus.yml"
_NAME = re.compile(r"\blandsync_[a-z0-9_]+")
_BY = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
_SELECTOR = re.compile(r"\{([^}]*)\}")
_MATCHER = re.compile(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)")
_SAMPLES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum")}
_ALWAYS = {"job", "instance"}  # added by Prometheus to every scraped series


def _metrics() -> dict[str, frozenset[str]]:
    """Every series name the code exposes → its label names.

    The modules are found by grepping the source for ``"landsync_``, then imported, so a metric
    renamed in the code (or a label) no longer matches the dashboard.
    """
    found: dict[str, frozenset[str]] = {}
    for path in sorted((PROJECT_ROOT / "shared").rglob("*.py")) + sorted(
        (PROJECT_ROOT / "services").rglob("*.py")
    ):
        if '"landsync_' not in path.read_text(encoding="utf-8"):
            continue
        module = importlib.import_module(
            ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
        )
        for value in vars(module).values():
            if isinstance(value, MetricWrapperBase):
                family = next(iter(value.describe()))
                labels = frozenset(value._labelnames)
                if family.type == "histogram":
                    labels |= {"le"}
                for suffix in _SAMPLES.get(family.type, ("",)):
                    found[family.name + suffix] = labels
    return found


def _queries() -> list[str]:
    """The PromQL of every panel, and of the template variables."""
    dashboard = load_dashboard()
    panels = [t["expr"] for p in all_panels(dashboard["panels"]) for t in p.get("targets", [])]
    variables = [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    return panels + variables


def test_prometheus_scrapes_each_service_on_its_default_port() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    defaults = Settings.model_fields
    assert {name: job["static_configs"][0]["targets"] for name, job in jobs.items()} == {
        service: [f"127.0.0.1:{defaults[f'{service}_port'].default}"]
        for service in ("intake", "reconcile", "sync")
    }
    assert all(job.get("metrics_path", "/metrics") == "/metrics" for job in jobs.values())


def test_every_label_a_dashboard_query_uses_is_a_label_of_its_metric() -> None:
    known = _metrics()
    for query in _queries():
        metrics = set(_NAME.findall(query))
        assert len(metrics) <= 1, f"one metric per query, so its labels can be checked: {query}"
        # Prometheus's own series (up, process_*) carry only the labels it adds.
        labels = known.get(metrics.pop(), frozenset()) if metrics else frozenset()
        used = {m for group in _SELECTOR.findall(query) for m in _MATCHER.findall(group)}
        used |= {label.strip() for group in _BY.findall(query) for label in group.split(",")}
        used |= set(re.findall(r"label_values\(\w+,\s*(\w+)\)", query))
        assert used - {""} <= labels | _ALWAYS, query


def test_the_dashboard_shows_the_pipelines_metrics() -> None:
    shown = {name for query in _queries() for name in _NAME.findall(query)}
    assert {
        "landsync_intake_records_total",
        "landsync_reconcile_decisions_total",
        "landsync_sync_plots_total",
        "landsync_sync_request_seconds_bucket",
        "landsync_sync_retries_total",
        "landsync_sync_breaker_state",
        "landsync_consumer_lag_messages",
        "landsync_kafka_messages_published_total",
        "landsync_dlq_replayed_total",
    } <= shown
    assert load_dashboard()["uid"] == "landsync"


def test_the_readme_names_the_files_and_shows_a_small_report_screenshot() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for path in (DASHBOARD, PROMETHEUS):
        assert str(path.relative_to(PROJECT_ROOT)) in readme
    assert Path(PROJECT_ROOT / "docs" / "report.png").stat().st_size < 300_000


def test_every_dead_letter_topic_has_its_reasons_for_the_series_made_at_zero() -> None:
    assert set(DEAD_LETTER_REASONS) == {t for t in Topic if t.is_dead_letter}
    assert all(DEAD_LETTER_REASONS.values())
