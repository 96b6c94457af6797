"""Compose's monitoring profile and the PodMonitor scrape the services as prometheus.yml does."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from shared.settings import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
JOBS = {"intake": 18080, "reconcile": 18081, "sync": 18082}  # the services' default ports


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _compose() -> dict[str, Any]:
    services: dict[str, Any] = _yaml(DEPLOY / "compose.yaml")["services"]
    return services


def _mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path → file or folder of deploy/ that compose mounts there."""
    found = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            found[target] = (DEPLOY / source).resolve()
    return found


def _host_file(mounts: dict[str, Path], container_path: str) -> Path:
    path = PurePosixPath(container_path)
    for target, source in mounts.items():
        if path.is_relative_to(target):
            return source / path.relative_to(target)
    raise AssertionError(f"nothing is mounted at {container_path}")


def test_compose_runs_prometheus_and_grafana_only_in_the_monitoring_profile() -> None:
    services = _compose()
    assert services["prometheus"]["profiles"] == ["monitoring"]
    assert services["grafana"]["profiles"] == ["monitoring"]
    assert all(
        "profiles" not in s for n, s in services.items() if n not in {"prometheus", "grafana"}
    )


def test_compose_prometheus_scrapes_every_replica_of_each_service_with_the_alerts() -> None:
    services = _compose()
    prometheus = services["prometheus"]
    (flag,) = [a for a in prometheus["command"] if a.startswith("--config.file=")]
    config_file = _host_file(_mounts(prometheus), flag.split("=", 1)[1])
    config = _yaml(config_file)
    ports = {
        name: int(services[name]["environment"][f"LANDSYNC_{name.upper()}_PORT"]) for name in JOBS
    }
    assert ports == JOBS
    found = {
        job["job_name"]: [(n, sd["port"]) for sd in job["dns_sd_configs"] for n in sd["names"]]
        for job in config["scrape_configs"]
    }
    assert found == {name: [(name, port)] for name, port in ports.items()}
    assert config["rule_files"] == ["alerts.yml"]
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: deploy/bootstrap.sh installs Debian's prometheus"
    checked = subprocess.run(
        [promtool, "check", "config", str(config_file)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_compose_grafana_is_provisioned_with_prometheus_and_the_dashboard() -> None:
    grafana = _compose()["grafana"]
    mounts = _mounts(grafana)
    provisioning = _host_file(mounts, "/etc/grafana/provisioning")
    (source,) = _yaml(provisioning / "datasources" / "prometheus.yml")["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    (provider,) = _yaml(provisioning / "dashboards" / "landsync.yml")["providers"]
    folder = provider["options"]["path"]
    dashboards = [t for t in mounts if PurePosixPath(t).parent == PurePosixPath(folder)]
    assert [mounts[t] for t in dashboards] == [DEPLOY / "grafana" / "landsync-dashboard.json"]
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home in dashboards


def test_the_podmonitor_selects_the_services_pods_and_names_their_jobs() -> None:
    monitor = _yaml(DEPLOY / "prometheus" / "podmonitor.yaml")
    assert monitor["kind"] == "PodMonitor"
    (expression,) = monitor["spec"]["selector"]["matchExpressions"]
    deployments = {}
    for name in JOBS:
        (deployment,) = [
            d
            for d in yaml.safe_load_all((DEPLOY / "k8s" / f"{name}.yaml").read_text())
            if d and d["kind"] == "Deployment"
        ]
        deployments[name] = deployment["spec"]["template"]
    labels = {n: t["metadata"]["labels"][expression["key"]] for n, t in deployments.items()}
    assert expression["operator"] == "In"
    assert sorted(expression["values"]) == sorted(labels.values())
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["path"] == "/metrics"
    for name, template in deployments.items():
        (container,) = template["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports[endpoint["port"]] == JOBS[name], name
    (relabel,) = endpoint["relabelings"]
    assert relabel["targetLabel"] == "job"
    jobs = set()
    for value in labels.values():  # Prometheus writes $1 where Python writes \1
        match = re.fullmatch(relabel["regex"], value)
        assert match is not None, value
        jobs.add(match.expand(relabel["replacement"].replace("$1", r"\1")))
    assert jobs == set(JOBS)
