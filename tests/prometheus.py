"""A real Prometheus (Debian's package) for tests, scraping a stack with the shipped config."""

from __future__ import annotations

import shutil
from typing import Any

import yaml

from shared.settings import PROJECT_ROOT, Settings
from shared.stack import processes as proc
from shared.stack.processes import StackError
from shared.stack.services import wait_ready

CONFIG = PROJECT_ROOT / "deploy" / "prometheus" / "prometheus.yml"
SCRAPE_SECONDS = 1  # short, so a test sees a counter move within seconds


def scrape_config(settings: Settings) -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml aimed at ``settings``' ports, scraping every second.

    The shipped file is used as it is otherwise (jobs, paths, rule files), so the test runs the
    configuration an operator runs.
    """
    config: dict[str, Any] = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    config["global"].update(
        scrape_interval=f"{SCRAPE_SECONDS}s", evaluation_interval=f"{SCRAPE_SECONDS}s"
    )
    for job in config["scrape_configs"]:
        target = settings.service_url(job["job_name"]).removeprefix("http://")
        job["static_configs"] = [{"targets": [target]}]
    # Relative rule files are read from the config file's folder; the test's config is elsewhere.
    config["rule_files"] = [str(CONFIG.parent / f) for f in config.get("rule_files", [])]
    return config


class Prometheus:
    """One Prometheus server with its own port and data directory, started and stopped here."""

    def __init__(self, settings: Settings, port: int) -> None:
        self.settings = settings
        self.port = port
        self.directory = settings.state_dir.resolve() / "prometheus"
        self.url = f"http://127.0.0.1:{port}"
        self._pidfile = self.directory / "prometheus.pid"
        self._log = self.directory / "prometheus.log"

    def up(self, timeout: float = 60.0) -> None:
        """Start from an empty data directory and wait until the server is ready."""
        binary = shutil.which("prometheus")
        if binary is None:
            raise StackError("prometheus is not installed: run deploy/bootstrap.sh")
        self.down()
        shutil.rmtree(self.directory, ignore_errors=True)
        (self.directory / "data").mkdir(parents=True)
        config = self.directory / "prometheus.yml"
        config.write_text(yaml.safe_dump(scrape_config(self.settings)), encoding="utf-8")
        argv = [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={self.directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]
        pid = proc.spawn(argv, log=self._log, cwd=self.directory)
        proc.write_pidfile(self._pidfile, pid)
        wait_ready(f"{self.url}/-/ready", pid, self._log, timeout)

    def down(self) -> None:
        """Stop the server if it runs."""
        proc.terminate([self._pidfile], timeout=10)
