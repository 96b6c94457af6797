"""The local stack's supervisor: restarts a component that died, with backoff, and gives up loudly.

``landsync up`` starts it (``python -m shared.stack``) once everything is up;
``landsync down`` stops it first. A component is wanted while its pid file exists: a deliberate
stop removes the file, so only a death nobody asked for is restarted. A component that keeps
dying (``LANDSYNC_SUPERVISOR_MAX_RESTARTS`` restarts within ``…_WINDOW_SECONDS``) is given up
on: one error line, and ``landsync status`` says so until the next ``landsync up``.

This is the embedded default a small province runs; under Kubernetes or compose, their restart
policies do this job and the supervisor is not started.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from shared.logging import configure_logging, get_logger
from shared.settings import Settings
from shared.stack import processes as proc
from shared.stack.processes import StackError

log = get_logger(__name__)
#: In the order they are restarted when several died at once: what the others need first
#: (a Kafka cluster's other nodes, ``kafka-2``…, come right after ``kafka``).
COMPONENTS = ("postgres", "kafka", "national-db", "intake", "reconcile", "sync")
STATE_FILE = "supervisor.json"


@dataclass(frozen=True)
class RestartPolicy:
    """Backoff between restarts, doubling; a crash loop is too many restarts in a window."""

    # No defaults: the settings' supervisor_* hold them, once (``policy_of``).
    max_restarts: int
    window_seconds: float
    backoff_initial_seconds: float
    backoff_max_seconds: float

    def delay(self, restarts: list[float], now: float) -> float | None:
        """Seconds to wait before the next restart, or None: give up (a crash loop).

        ``restarts`` are the monotonic times of the earlier restarts; only those in the window
        count, so a component that ran quietly for a while starts again from the first delay.
        """
        recent = [t for t in restarts if now - t < self.window_seconds]
        if len(recent) >= self.max_restarts:
            return None
        return float(min(self.backoff_max_seconds, self.backoff_initial_seconds * 2 ** len(recent)))


@dataclass
class Record:
    """What ``landsync status`` shows of one component."""

    restarts: int = 0
    last_exit: str | None = None  # "exit 3", "SIGKILL", or "unknown" (not our child)
    last_restart_at: str | None = None
    gave_up: bool = False
    error: str | None = None  # why the last restart failed
    restart_times: list[float] = field(default_factory=list)  # monotonic, for the policy

    def public(self) -> dict[str, Any]:
        """The record without its bookkeeping."""
        return {k: v for k, v in asdict(self).items() if k != "restart_times"}


def describe_exit(code: int | None) -> str:
    """A Popen return code as people say it."""
    if code is None:
        return "unknown"
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit {code}"


def read_state(run_dir: Path) -> dict[str, Any]:
    """The supervisor's last written state, or {} when it never ran."""
    try:
        data: dict[str, Any] = json.loads((run_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data


class Supervisor:
    """Watches the pid files once a second and restarts what died."""

    def __init__(self, settings: Settings, policy: RestartPolicy) -> None:
        from shared.stack.stack import Stack  # noqa: PLC0415 - the stack imports this module

        # The stack's own lines ("✓ sync started") go nowhere: this process logs JSON.
        self.stack = Stack(settings, console=Console(quiet=True))
        self.policy = policy
        kafka_nodes = self.stack.kafka_nodes
        self.components = tuple(
            node for name in COMPONENTS for node in (kafka_nodes if name == "kafka" else [name])
        )
        self.records: dict[str, Record] = {name: Record() for name in self.components}
        self._due: dict[str, float] = {}
        # Died and not yet back: still wanted though a failed start removed its pid file.
        self._failing: set[str] = set()
        self._stopping = False

    def stop(self, *_: object) -> None:
        """End the loop (SIGTERM)."""
        self._stopping = True

    def run(self, interval: float = 1.0) -> None:
        """Until stopped: check every component, restart the dead when their delay is over."""
        log.info("supervisor started", components=list(self.components))
        self._write()
        while not self._stopping:
            for name in self.components:
                if self._stopping:
                    break
                self.check(name)
            time.sleep(interval)
        log.info("supervisor stopped")

    def check(self, name: str) -> None:
        """Restart ``name`` if it is wanted (its pid file exists) but its process is gone."""
        record = self.records[name]
        pidfile = self.stack.pidfile(name)
        found = proc.read_pidfile(pidfile)
        wanted = found is not None or name in self._failing
        if not wanted or record.gave_up or proc.live_pid(pidfile) is not None:
            self._due.pop(name, None)
            self._failing.discard(name)
            return
        now = time.monotonic()
        if name not in self._due:
            if found is not None:
                record.last_exit = describe_exit(proc.exit_code(found["pid"]))
            delay = self.policy.delay(record.restart_times, now)
            if delay is None:
                record.gave_up = True
                log.error(
                    "component keeps dying; supervisor gave up on it",
                    component=name,
                    restarts=len(record.restart_times),
                    window_s=self.policy.window_seconds,
                    last_exit=record.last_exit,
                    fix="read its log, fix the cause, then run `landsync up`",
                )
                self._write()
                return
            log.warning("component died", component=name, last_exit=record.last_exit,
                        restart_in_s=delay)  # fmt: skip
            self._due[name] = now + delay
            self._write()
        if now < self._due[name]:
            return
        del self._due[name]
        record.restart_times.append(now)
        record.restarts += 1
        record.last_restart_at = datetime.now(UTC).isoformat()
        try:
            self._start(name)
        except (StackError, OSError) as exc:
            self._failing.add(name)
            record.error = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
            record.last_exit = "failed to start"
            log.warning("restart failed", component=name, error=record.error)
        else:
            self._failing.discard(name)
            record.error = None
            log.info("component restarted", component=name, restarts=record.restarts)
        self._write()

    def _start(self, name: str) -> None:
        if name == "postgres":
            self.stack.start_postgres()
        elif name in self.stack.kafka_nodes:
            self.stack.start_kafka()  # only the nodes that are down
        else:
            self.stack.start_service(name)

    def _write(self) -> None:
        state = {
            "pid": os.getpid(),
            "updated_at": datetime.now(UTC).isoformat(),
            "components": {n: r.public() for n, r in self.records.items()},
        }
        path = self.stack.run_dir / STATE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        tmp.replace(path)


def policy_of(settings: Settings) -> RestartPolicy:
    """The restart policy the settings give."""
    return RestartPolicy(
        max_restarts=settings.supervisor_max_restarts,
        window_seconds=settings.supervisor_window_seconds,
        backoff_initial_seconds=settings.supervisor_backoff_initial_seconds,
        backoff_max_seconds=settings.supervisor_backoff_max_seconds,
    )


def main() -> None:
    """``python -m shared.stack``: supervise the stack of the current settings."""
    settings = Settings()
    configure_logging("supervisor", settings.log_level)
    supervisor = Supervisor(settings, policy_of(settings))
    signal.signal(signal.SIGTERM, supervisor.stop)
    signal.signal(signal.SIGINT, supervisor.stop)
    supervisor.run()
