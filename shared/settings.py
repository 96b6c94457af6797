"""Configuration for every service and the CLI, read once from ``LANDSYNC_*`` variables."""

from __future__ import annotations

from collections.abc import Mapping
from difflib import get_close_matches
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.topics import Topics

#: The repository checkout this package runs from: deploy/ files and the jar cache live here.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
_PREFIX = "LANDSYNC_"
#: ``LANDSYNC_*`` variables that are not settings: the test suite's own (README, Tests).
NOT_SETTINGS = frozenset(
    {
        "LANDSYNC_TEST_PORT_BASE",
        "LANDSYNC_TEST_TOPIC_PREFIX",
        "LANDSYNC_TEST_KAFKA_BROKERS",
        "LANDSYNC_FUZZ_SECONDS",
        "LANDSYNC_FUZZ_EXAMPLES",
    }
)


class CommonSettings(BaseSettings):
    """What every service reads: where Kafka and PostgreSQL are, topics, logging, tracing."""

    model_config = SettingsConfigDict(env_prefix=_PREFIX, extra="ignore", frozen=True)

    state_dir: Path = Field(default=PROJECT_ROOT / ".landsync")
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    # KRaft nodes, each broker and controller: 1, or 3 for a cluster that survives one death
    # (replication factor 3, min.insync.replicas 2). Node n listens on kafka_port + 2(n-1) and
    # kafka_controller_port + 2(n-1).
    kafka_brokers: int = Field(default=1, ge=1, le=9)
    # SASL/SCRAM on Kafka's client listener: off (None) by default. The local stack generates
    # the password into <state_dir>/secrets/kafka.password unless one is given.
    kafka_sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str = "landsync"
    kafka_sasl_password: SecretStr | None = None
    kafka_sasl_tls: bool = False  # SASL_SSL (system CA bundle) instead of SASL_PLAINTEXT
    postgres_port: int = 15432
    postgres_user: str = "landsync"  # the application role: no superuser, owns nothing
    postgres_db: str = "landsync"

    # Connections (derived from the stack ports unless set explicitly). The local stack's
    # passwords are generated into <state_dir>/secrets/<role>.pgpass (mode 0600), which the
    # derived URLs name as their passfile: no password is ever in a URL or an environment.
    kafka_bootstrap: str | None = None
    database_url: str | None = None

    # Topics
    topic_prefix: str = ""
    topic_partitions: int = 6
    dlq_partitions: int = 3

    log_level: str = "INFO"
    # Tracing (shared/tracing.py): off unless asked; spans to an OTLP/HTTP collector
    # (e.g. http://127.0.0.1:4318/v1/traces) and/or to JSON-lines files in a directory.
    tracing: bool = False
    otlp_endpoint: str | None = None
    trace_dir: Path | None = None
    bind_host: str = "127.0.0.1"
    graceful_timeout_seconds: float = 20.0

    @cached_property
    def kafka_nodes(self) -> list[tuple[int, int]]:
        """The local cluster's (client port, controller port) of each node, node 1 first."""
        return [
            (self.kafka_port + 2 * i, self.kafka_controller_port + 2 * i)
            for i in range(self.kafka_brokers)
        ]

    @cached_property
    def bootstrap(self) -> str:
        """Kafka bootstrap servers: every node of the local cluster unless set explicitly."""
        local = ",".join(f"127.0.0.1:{port}" for port, _ in self.kafka_nodes)
        return self.kafka_bootstrap or local

    @cached_property
    def secret_dir(self) -> Path:
        """Where the local stack keeps its generated passwords (mode 0700, files 0600)."""
        return self.state_dir.resolve() / "secrets"

    @cached_property
    def kafka_password_file(self) -> Path:
        """The local stack's generated SASL password of the Kafka user (mode 0600)."""
        return self.secret_dir / "kafka.password"

    def pgpass_file(self, role: str) -> Path:
        """The local stack's password file (libpq's pgpass format) of one PostgreSQL role."""
        return self.secret_dir / f"{role}.pgpass"

    def local_dsn(self, role: str, database: str | None = None) -> str:
        """A connection string to the local cluster as ``role``, its password in its passfile."""
        passfile = quote(str(self.pgpass_file(role)), safe="/")
        db = database or self.postgres_db
        return f"postgresql://{role}@127.0.0.1:{self.postgres_port}/{db}?passfile={passfile}"

    @cached_property
    def dsn(self) -> str:
        """PostgreSQL connection string of the application role (services and the CLI)."""
        return self.database_url or self.local_dsn(self.postgres_user)

    @cached_property
    def topics(self) -> Topics:
        """Topic names and partition counts of this deployment."""
        return Topics(self.topic_prefix, self.topic_partitions, self.dlq_partitions)


class IntakeSettings(CommonSettings):
    """Intake's: its HTTP server, its limits, the outbox relay, the report and dead letters."""

    intake_port: int = 18080
    intake_workers: int = 1  # uvicorn worker processes (see README)
    intake_validators: int = 2  # validator processes per intake worker; 0 validates inline

    # Intake limits
    max_batch_records: int = 10_000
    max_body_bytes: int = 32 * 1024 * 1024
    max_ndjson_bytes: int = 512 * 1024 * 1024
    max_record_bytes: int = 1024 * 1024  # one NDJSON line; a record is a few KB
    ndjson_chunk_records: int = 2_000
    api_key_cache_seconds: float = 30.0
    import_max_bytes: int = 50 * 1024 * 1024  # a Form 01 workbook or CSV (docs/form01.md)
    import_max_rows: int = 200_000
    max_header_bytes: int = 32 * 1024  # request line + headers; longer gets 431
    # owner_unresolved decisions a submitter key may have in an hour before its submissions are
    # refused (probing the population registry; see services/intake/probe_guard.py)
    registry_misses_per_hour: int = 1000
    header_timeout_seconds: float = 10.0  # a request's head must arrive whole within this
    body_timeout_seconds: float = 30.0  # the longest wait for the next part of a body
    intake_max_connections: int = 1000  # uvicorn's limit_concurrency: over it, 503

    # Outbox relay (intake -> Kafka)
    outbox_batch_size: int = 5_000
    outbox_idle_seconds: float = 0.5

    # Dead letters (CONTRACT §5)
    dlq_max_replays: int = 3  # a dead letter replayed this many times already is refused

    # Campaign report: the days of the daily figures and of days_left are this zone's days
    campaign_timezone: str = "Asia/Ho_Chi_Minh"


class ConsumerSettings(CommonSettings):
    """What both batch consumers (reconcile and sync) read: batches and the dead-letter guard."""

    consumer_batch_size: int = 2000  # an upper bound: at low rates a batch is what 100 ms brings
    consumer_batch_timeout_ms: int = 100
    # The dead-letter guard (shared/kafka/dlq_guard.py): a consumer stops, rather than send more
    # to land.dlq.poison, after this many in a row, or over this share of a partition's last 1,000
    dlq_guard_max_run: int = 100
    dlq_guard_max_ratio: float = 0.5


class ReconcileSettings(ConsumerSettings):
    """Reconcile's: its port and how many processes and group members it runs."""

    reconcile_port: int = 18081
    reconcile_workers: int = 2  # reconcile processes, each a member of the consumer group
    reconcile_members: int = 2  # consumer-group members inside each reconcile process


class NationalDbAddress(CommonSettings):
    """Where the national database is (the simulator locally) and the token it expects."""

    national_db_port: int = 18090
    national_db_url: str | None = None
    national_db_token: str = "local-dev-token"  # noqa: S105 - the simulator's dev default

    @cached_property
    def national_db(self) -> str:
        """Base URL of the national land database (the simulator locally)."""
        return self.national_db_url or f"http://127.0.0.1:{self.national_db_port}"


class SyncSettings(ConsumerSettings, NationalDbAddress):
    """Sync's: requests, retries, backoff and the circuit breaker towards the national database."""

    sync_port: int = 18082
    # Plain http to a host other than loopback would carry the token in clear: sync refuses it.
    national_db_allow_insecure: bool = False
    national_db_timeout_seconds: float = 10.0
    sync_batch_size: int = 500  # plots per batchUpsert request
    sync_concurrency: int = 4  # requests in flight
    sync_members: int = 2  # consumer-group members in the sync process
    sync_inline_attempts: int = 4  # attempts before a plot is taken aside to the retry table
    sync_max_attempts: int = 10  # attempts before a plot is dead-lettered as sync_exhausted
    sync_backoff_initial_seconds: float = 0.2
    sync_backoff_max_seconds: float = 30.0
    sync_max_retry_after_seconds: float = 300.0  # the longest Retry-After sync obeys
    sync_breaker_failures: int = 3  # consecutive failures that open it (< inline attempts)
    sync_breaker_reset_seconds: float = 1.0  # first wait before a probe; doubles up to the max
    sync_breaker_max_reset_seconds: float = 8.0
    # A batch may wait out a national-database outage this long before the group hands its
    # partitions to another member (aiokafka's max_poll_interval_ms; its default is 5 minutes).
    sync_max_batch_seconds: float = 3600.0
    sync_retry_poll_seconds: float = 1.0  # how often the retry table is looked at when idle


class NationalDbSettings(NationalDbAddress):
    """The national database simulator's (CONTRACT §7)."""

    # The simulator's test controls need no token: loopback only, whatever bind_host says.
    national_db_bind_host: str = "127.0.0.1"
    national_db_data_file: Path | None = (
        None  # its journal; default <state_dir>/national-db.journal
    )
    # Keep the simulator's plots across restarts, as the real database would: otherwise a
    # restarted stack re-creates synced parcels under new national ids. Off in isolated stacks.
    national_db_journal: bool = True
    national_db_faults: str = ""  # a POST /v1/_faults body (JSON) applied at start
    national_db_seed: int | None = None  # makes the fault draws reproducible

    @cached_property
    def national_db_journal_file(self) -> Path | None:
        """Where the simulator journals its state, or None to keep it in memory only."""
        if self.national_db_data_file is not None:
            return self.national_db_data_file
        return self.state_dir / "national-db.journal" if self.national_db_journal else None


class StackSettings(CommonSettings):
    """The local stack's: its Kafka and PostgreSQL servers, migrations, the supervisor."""

    cache_dir: Path = Field(default=PROJECT_ROOT / ".cache")
    kafka_heap: str | None = None  # per node; default 768m, 512m each in a cluster
    postgres_migration_user: str = "landsync_migrator"  # owns the schema; migrations run as it
    migration_database_url: str | None = None  # default: database_url when set, else local
    # The local stack's supervisor (shared/stack/supervisor.py): restart with doubling backoff,
    # give up on a component restarted this many times within the window.
    supervisor_max_restarts: int = 5
    supervisor_window_seconds: float = 600.0
    supervisor_backoff_initial_seconds: float = 1.0
    supervisor_backoff_max_seconds: float = 30.0

    @cached_property
    def migration_dsn(self) -> str:
        """PostgreSQL connection string of the migration role (migrations, registry loads)."""
        return (
            self.migration_database_url
            or self.database_url
            or self.local_dsn(self.postgres_migration_user)
        )


class Settings(IntakeSettings, ReconcileSettings, SyncSettings, NationalDbSettings, StackSettings):
    """Every knob of LandSync, for the CLI and the local stack; defaults give a working stack.

    Each service reads its own group (``IntakeSettings``, ``ReconcileSettings``,
    ``SyncSettings``, ``NationalDbSettings``), all sharing ``CommonSettings``.
    """

    # Clients of intake (landsync submit): the API key they present. Never passed to services.
    api_key: SecretStr | None = None

    def service_url(self, service: str) -> str:
        """Base URL of one of the HTTP-serving processes."""
        ports = {
            "intake": self.intake_port,
            "reconcile": self.reconcile_port,
            "sync": self.sync_port,
            "national-db": self.national_db_port,
        }
        return f"http://127.0.0.1:{ports[service]}"


def unknown_variables(environ: Mapping[str, str]) -> dict[str, str | None]:
    """The ``LANDSYNC_*`` names in ``environ`` that no setting reads, each with a close setting.

    pydantic-settings ignores them, so a typo (``LANDSYNC_INTAKE_PROT``) would silently leave
    the default in force.
    """
    known = [f"{_PREFIX}{name.upper()}" for name in Settings.model_fields]
    return {
        name: next(iter(get_close_matches(name.upper(), known, n=1, cutoff=0.8)), None)
        for name in sorted(environ)
        # Settings match names in any case, as pydantic-settings does by default.
        if name.upper().startswith(_PREFIX) and name.upper() not in {*known, *NOT_SETTINGS}
    }


def isolated(base: int, state_dir: Path, **overrides: Any) -> Settings:  # noqa: ANN401 - setting values, checked by pydantic
    """Settings of a stack of its own (tests, benchmarks): its state dir, every port from ``base``.

    Keep ``base`` below 32768, where Linux's ephemeral ports begin: a readiness probe to a port in
    that range can connect to itself before the server listens, and then hold the port.
    """
    ports: dict[str, Any] = {
        "kafka_port": base + 92,
        "kafka_controller_port": base + 93,
        "postgres_port": base + 432,
        "intake_port": base + 80,
        "reconcile_port": base + 81,
        "sync_port": base + 82,
        "national_db_port": base + 90,
    }
    # Tests and benchmarks start from an empty national database each time the stack starts.
    overrides.setdefault("national_db_journal", False)
    return Settings(state_dir=state_dir, **ports, **overrides)
