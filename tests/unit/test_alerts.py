"""deploy/prometheus/alerts.yml is valid, loaded by prometheus.yml, each alert unit-tested."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import yaml

from shared.settings import PROJECT_ROOT

FOLDER = PROJECT_ROOT / "deploy" / "prometheus"
ALERTS = FOLDER / "alerts.yml"
TESTS = FOLDER / "alerts_test.yml"


def _promtool(*args: str) -> str:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: deploy/bootstrap.sh installs Debian's prometheus"
    done = subprocess.run(
        [promtool, *args], cwd=FOLDER, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _load(path: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def _alert_names() -> set[str]:
    return {rule["alert"] for group in _load(ALERTS)["groups"] for rule in group["rules"]}


def test_promtool_accepts_the_rules_and_the_config_that_loads_them() -> None:
    assert "SUCCESS" in _promtool("check", "rules", ALERTS.name)
    # check config also checks every rule file the config names
    assert ALERTS.name in _promtool("check", "config", "prometheus.yml")
    assert _load(FOLDER / "prometheus.yml")["rule_files"] == [ALERTS.name]


def test_the_rules_unit_tests_pass() -> None:
    assert "SUCCESS" in _promtool("test", "rules", TESTS.name)


def test_every_alert_is_tested_firing_and_silent() -> None:
    cases = [case for test in _load(TESTS)["tests"] for case in test["alert_rule_test"]]
    fires = {c["alertname"] for c in cases if c["exp_alerts"]}
    silent = {c["alertname"] for c in cases if not c["exp_alerts"]}
    names = _alert_names()
    assert names >= {
        "LandSyncServiceDown",
        "LandSyncConsumerLagGrowing",
        "LandSyncOutboxBacklog",
        "LandSyncRecordsUndecided",
        "LandSyncDeadLetterRateHigh",
        "LandSyncBreakerOpen",
        "LandSyncSyncFailing",
        "LandSyncIntake5xx",
    }
    assert names - fires == set(), "alerts no test makes fire"
    assert names - silent == set(), "alerts no test shows silent"
