"""The local system as one object: provision, start, stop and report Kafka, PostgreSQL, services."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console

from shared.db.migrate import apply_migrations
from shared.kafka.security import client_options
from shared.settings import PROJECT_ROOT, Settings
from shared.stack import kafka, postgres, privacy, secrets, supervisor
from shared.stack import processes as proc
from shared.stack.processes import StackError
from shared.stack.services import SERVICES, child_env, wait_ready
from shared.topics import Topics

T = TypeVar("T")
INFRA = ("kafka", "postgres")
SUPERVISOR = "supervisor"


def with_formatted_nodes(settings: Settings) -> Settings:
    """The settings with as many Kafka nodes as the local cluster was formatted with.

    `landsync up --brokers 3` formatted three nodes: a later command that does not say so must
    still see (and stop) all three, and bootstrap from all of them (node 1 may be the one down).
    An explicit ``LANDSYNC_KAFKA_BROKERS`` wins.
    """
    nodes = kafka.formatted_nodes(settings.state_dir.resolve())
    if (
        nodes is None
        or nodes == settings.kafka_brokers
        or "kafka_brokers" in settings.model_fields_set
    ):
        return settings
    # A fresh object, not model_copy: that would keep the cached bootstrap of one node.
    given = {name: getattr(settings, name) for name in settings.model_fields_set}
    return type(settings)(**{**given, "kafka_brokers": nodes})


def _run(coro: Coroutine[Any, Any, T]) -> T:
    # Synchronous API usable from async tests too: inside a running loop, use a private one.
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


class Stack:
    """Starts and stops the local system; every method is synchronous and idempotent."""

    def __init__(self, settings: Settings, console: Console | None = None) -> None:
        self.state_dir = settings.state_dir.resolve()
        self.settings = with_formatted_nodes(settings)
        self.console = console or Console(stderr=True)
        self.logs = self.state_dir / "logs"
        self.run_dir = self.state_dir / "run"

    def pidfile(self, name: str) -> Path:
        """The pid file of a component (kafka, postgres or a service name)."""
        return self.run_dir / f"{name}.pid"

    def log(self, name: str) -> Path:
        """The log file of a component."""
        return self.logs / f"{name}.log"

    def _say(self, name: str, what: str) -> None:
        self.console.print(f"[green]✓[/] {name:<12} {what}")

    @property
    def kafka_nodes(self) -> list[str]:
        """The component names of the Kafka nodes: ``kafka``, then ``kafka-2``… in a cluster."""
        return [kafka.node_name(n) for n in range(1, self.settings.kafka_brokers + 1)]

    def is_running(self, name: str) -> bool:
        """Whether the process the component's pid file names is alive (same start time)."""
        known = name in SERVICES or name in INFRA or name in self.kafka_nodes
        if not known and name != SUPERVISOR:
            raise ValueError(f"unknown component {name!r}")
        return proc.live_pid(self.pidfile(name)) is not None

    # --- whole stack -------------------------------------------------------------------------

    def up(
        self, services: Iterable[str] | None = None, *, supervise: bool = False
    ) -> dict[str, Any]:
        """Start Kafka, PostgreSQL and the services (None: every one present); return status().

        With ``supervise``, then the supervisor, which restarts whatever dies (a fresh start:
        what it had given up on is tried again).
        """
        names = self._resolve(services)
        kafka_pid = self._spawn_kafka()  # the JVM boots while PostgreSQL is prepared
        self.start_postgres()
        self._finish_kafka(kafka_pid)
        spawned = {name: self._spawn_service(name) for name in names}
        for name, pid in spawned.items():
            self._await_service(name, pid)
        # Once more, now that the services wrote their pid files and first files.
        privacy.make_private(self.state_dir, postgres.data_dir(self.state_dir))
        if supervise:
            self.supervise()
        return self.status()

    def supervise(self) -> None:
        """Start the supervisor (shared/stack/supervisor.py) afresh."""
        self.stop_supervisor()
        (self.run_dir / supervisor.STATE_FILE).unlink(missing_ok=True)
        argv = [sys.executable, "-m", "shared.stack"]  # its __main__: the supervisor
        pid = proc.spawn(
            argv, log=self.log(SUPERVISOR), cwd=PROJECT_ROOT, env=child_env(self.settings)
        )
        proc.write_pidfile(self.pidfile(SUPERVISOR), pid)
        self._say(SUPERVISOR, "watching (restarts what dies)")

    def stop_supervisor(self) -> None:
        """Stop the supervisor, first, so nothing stopped deliberately is started again."""
        proc.terminate([self.pidfile(SUPERVISOR)], timeout=10.0)

    def down(self) -> None:
        """Stop exactly what the pid files name: the supervisor, services, Kafka, PostgreSQL."""
        self.stop_supervisor()
        running = [n for n in SERVICES if self.is_running(n)]
        proc.terminate([self.pidfile(n) for n in SERVICES], timeout=20.0)
        for name in running:
            self._say(name, "stopped")
        self.stop_kafka()
        self.stop_postgres()

    def status(self) -> dict[str, Any]:
        """The CONTRACT §5 ``status --json`` object."""
        s = self.settings
        out: dict[str, Any] = {}
        for name in ("intake", "reconcile", "sync", "national-db"):
            pid = proc.live_pid(self.pidfile(name))
            out[name] = {"url": s.service_url(name), "running": pid is not None, "pid": pid}
        pid = proc.live_pid(self.pidfile("kafka"))
        out["kafka"] = {"bootstrap": s.bootstrap, "running": pid is not None, "pid": pid}
        for node, (port, _) in enumerate(s.kafka_nodes[1:], start=2):  # a cluster's others
            pid = proc.live_pid(self.pidfile(kafka.node_name(node)))
            address = f"127.0.0.1:{port}"
            out[kafka.node_name(node)] = {
                "bootstrap": address,
                "running": pid is not None,
                "pid": pid,
            }
        pid = proc.live_pid(self.pidfile("postgres"))
        out["postgres"] = {"dsn": s.dsn, "running": pid is not None, "pid": pid}
        return {"state_dir": str(self.state_dir), "services": out}

    def supervision(self) -> dict[str, Any]:
        """The supervisor: whether it runs, and per component its restarts and last exit.

        Apart from ``status()``, whose object CONTRACT §5 fixes.
        """
        pid = proc.live_pid(self.pidfile(SUPERVISOR))
        watched = supervisor.read_state(self.run_dir).get("components", {})
        return {"running": pid is not None, "pid": pid, "components": watched}

    def _resolve(self, services: Iterable[str] | None) -> list[str]:
        if services is None:
            return [n for n, svc in SERVICES.items() if svc.available()]
        names = list(services)
        for name in names:
            if name not in SERVICES:
                raise ValueError(f"unknown service {name!r}; known: {', '.join(SERVICES)}")
            if not SERVICES[name].available():
                raise StackError(f"service {name!r}: module {SERVICES[name].module} not found")
        return names

    # --- Kafka -------------------------------------------------------------------------------

    def start_kafka(self) -> None:
        """Fetch jars if needed, start the nodes not running, wait until ready, create topics."""
        self._finish_kafka(self._spawn_kafka())

    def _spawn_kafka(self) -> dict[int, int]:
        """Start every node that is not running; return the pid of each started, by node."""
        s = self.settings
        missing = [
            n for n in range(1, s.kafka_brokers + 1) if not self.is_running(kafka.node_name(n))
        ]
        if not missing:
            return {}
        libs = kafka.ensure_jars(s)
        kafka.check_node_count(self.state_dir, s.kafka_brokers)
        scram = None
        if s.kafka_sasl_mechanism is not None:
            password = (
                s.kafka_sasl_password.get_secret_value()
                if s.kafka_sasl_password is not None
                else secrets.ensure_secret(s.kafka_password_file)
            )
            scram = (s.kafka_sasl_mechanism, s.kafka_sasl_username, password)
        # One cluster id for every node; a node formatted later joins the cluster there is.
        cluster_id = kafka.cluster_id_of(self.state_dir, s.kafka_brokers) or kafka.new_cluster_id()
        started: dict[int, int] = {}
        for node in missing:
            name = kafka.node_name(node)
            node_dir = kafka.node_dir(self.state_dir, node)
            props = kafka.write_config(s, node_dir, scram[2] if scram else None, node)
            kafka.format_storage(libs, props, node_dir, scram, cluster_id)
            pid = proc.spawn(kafka.java_argv(s, libs, props), log=self.log(name), cwd=node_dir)
            proc.write_pidfile(self.pidfile(name), pid)
            started[node] = pid
        return started

    def _finish_kafka(self, started: dict[int, int]) -> None:
        s = self.settings
        options = client_options(s)
        for node, pid in started.items():
            name = kafka.node_name(node)
            address = f"127.0.0.1:{s.kafka_nodes[node - 1][0]}"
            try:
                _run(kafka.wait_ready(address, pid, self.log(name), options=options))
            except StackError:
                # Never leave a half-started JVM behind; the nodes that already ran stay up.
                proc.terminate([self.pidfile(kafka.node_name(n)) for n in started], timeout=30.0)
                raise
        if started and s.kafka_brokers > 1:
            _run(kafka.wait_for_nodes(s.bootstrap, s.kafka_brokers, options=options))
        topics = Topics(s.topic_prefix, s.topic_partitions, s.dlq_partitions).all()
        replicas, min_isr = kafka.replication(s.kafka_brokers)
        created = _run(
            kafka.ensure_topics(
                s.bootstrap,
                topics,
                options=options,
                replicas=replicas,
                min_isr=min_isr if s.kafka_brokers > 1 else None,
            )
        )
        state = "started" if started else "already running"
        if started and len(started) < s.kafka_brokers:
            state = f"node {', '.join(map(str, started))} started"
        extra = f", {len(created)} topics created" if created else ""
        self._say("kafka", f"{s.bootstrap} ({state}{extra})")

    def stop_kafka(self, *, quiet: bool = False) -> None:
        """SIGTERM every node (a clean shutdown flushes the log), SIGKILL after 30 s."""
        was = any(self.is_running(name) for name in self.kafka_nodes)
        proc.terminate([self.pidfile(name) for name in self.kafka_nodes], timeout=30.0)
        if was and not quiet:
            self._say("kafka", "stopped")

    # --- PostgreSQL --------------------------------------------------------------------------

    def start_postgres(self) -> None:
        """Install if needed, init and start the cluster, create roles and database, migrate."""
        bindir = postgres.ensure_bindir()
        s = self.settings
        self.state_dir.mkdir(parents=True, exist_ok=True)
        pgdata = postgres.data_dir(self.state_dir)
        running = self.is_running("postgres")
        orphan_possible = not running and not s.pgpass_file(postgres.SUPERUSER).exists()
        if orphan_possible and postgres.discard_orphaned_cluster(bindir, pgdata, self.state_dir):
            self._say("postgres", f"removed {pgdata}, left by a removed state dir")
        passwords = self._passwords()
        state = "already running"
        if not running:
            postgres.init_cluster(bindir, pgdata, passwords.superuser)
            postgres.write_conf(self.settings, pgdata)
            pid = postgres.start(bindir, pgdata, self.log("postgres"))
            proc.write_pidfile(self.pidfile("postgres"), pid, data_dir=str(pgdata))
            (self.state_dir / "postgres-data-dir").write_text(f"{pgdata}\n", "utf-8")
            state = "started"
        if not postgres.uses_passwords(pgdata):
            _run(postgres.adopt_trusting_cluster(self.settings, pgdata, passwords.superuser))
            self._say("postgres", "switched from trust to scram-sha-256 passwords")
        _run(postgres.ensure_roles_and_db(self.settings, passwords))
        applied = _run(apply_migrations(self.settings.migration_dsn))
        extra = f", {len(applied)} migrations applied" if applied else ""
        privacy.make_private(self.state_dir, pgdata)
        self._say("postgres", f"127.0.0.1:{self.settings.postgres_port} ({state}{extra})")

    def _passwords(self) -> postgres.Passwords:
        s = self.settings
        return postgres.Passwords(
            superuser=secrets.ensure_password(
                s.pgpass_file(postgres.SUPERUSER), postgres.SUPERUSER
            ),
            migration=secrets.ensure_password(
                s.pgpass_file(s.postgres_migration_user), s.postgres_migration_user
            ),
            application=secrets.ensure_password(s.pgpass_file(s.postgres_user), s.postgres_user),
        )

    def stop_postgres(self) -> None:
        """Fast shutdown with pg_ctl of the cluster the pid file names."""
        path = self.pidfile("postgres")
        record = proc.read_pidfile(path)
        pid = proc.live_pid(path)
        if record is not None and pid is not None:
            bindir = postgres.find_bindir()
            if bindir is not None:
                postgres.stop(bindir, Path(record["data_dir"]), self.log("postgres"))
            else:  # binaries gone: SIGINT is PostgreSQL's own "fast shutdown" signal
                proc.signal_process(pid, signal.SIGINT)
                proc.wait_gone([pid], 60.0)
            self._say("postgres", "stopped")
        path.unlink(missing_ok=True)

    # --- services ----------------------------------------------------------------------------

    def start_service(self, name: str) -> None:
        """Start one service and wait until its health URL answers 200."""
        self._resolve([name])
        self._await_service(name, self._spawn_service(name))

    def _spawn_service(self, name: str) -> int | None:
        if self.is_running(name):
            return None
        argv = [sys.executable, "-m", SERVICES[name].module]
        env = child_env(self.settings, name)
        pid = proc.spawn(argv, log=self.log(name), cwd=PROJECT_ROOT, env=env)
        proc.write_pidfile(self.pidfile(name), pid)
        return pid

    def _await_service(self, name: str, pid: int | None) -> None:
        svc = SERVICES[name]
        url = f"http://127.0.0.1:{svc.port(self.settings)}"
        if pid is not None:
            try:
                wait_ready(url + svc.ready_path, pid, self.log(name))
            except StackError:
                proc.terminate([self.pidfile(name)], timeout=5.0)
                raise
        self._say(name, f"{url} ({'started' if pid is not None else 'already running'})")

    def stop_service(self, name: str) -> None:
        """SIGTERM a service (graceful drain), SIGKILL after 20 s."""
        self.is_running(name)  # validates the name
        proc.terminate([self.pidfile(name)], timeout=20.0)

    def kill_service(self, name: str) -> None:
        """SIGKILL a component without any shutdown: the crash of crash tests."""
        self.is_running(name)
        proc.kill(self.pidfile(name))
