"""``landsync init``: the one-shot step that prepares the database schema and the Kafka topics.

Containers have no ``landsync up`` to do this for them: compose runs ``landsync init`` once
before the services, Kubernetes runs it as a Job (``--no-topics``: Strimzi owns the topics there),
and each service pod first waits with ``landsync init --wait`` until the schema and the topics
are in place, so that no service starts on an old schema and no FastStream subscriber creates a
missing topic with one partition. The command starts nothing and is idempotent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import typer
from aiokafka.errors import KafkaError
from rich.console import Console
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential_jitter

from shared.cli.config import local_settings
from shared.db.connection import connected
from shared.db.migrate import apply_migrations, pending
from shared.kafka.admin import admin_client
from shared.kafka.security import client_options
from shared.settings import Settings
from shared.stack.kafka import ensure_topics

T = TypeVar("T")
# No wrapping: in a container log a wrapped line is two lines.
_err = Console(stderr=True, soft_wrap=True)


class NotYetError(Exception):
    """What ``--wait`` waits for is not there yet (migrations pending, topics missing)."""


# "Not reachable yet": refused or reset connections, unresolvable host names and timeouts (all
# OSError), a server that is still starting, or one that has no free connection slot. These are
# waited out. Anything else (a wrong password, a missing database, a migration that fails) would
# fail the same way on every attempt, so it ends the command at once with its own message.
_POSTGRES_UNREACHABLE = (
    OSError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.PostgresConnectionError,
    NotYetError,
)
# aiokafka reports an unreachable or still-electing cluster as KafkaError subclasses.
_KAFKA_UNREACHABLE = (OSError, KafkaError, NotYetError)


class InitError(Exception):
    """A step of ``landsync init`` failed; the message says which and why."""


def masked_dsn(dsn: str) -> str:
    """The connection string with its password replaced by ``***``, fit to print."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal loses its brackets in .hostname
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:***@{host}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


async def _until_reachable(
    what: str,
    step: Callable[[], Awaitable[T]],
    transient: tuple[type[BaseException], ...],
    deadline: float,
) -> T:
    """Run ``step``, retrying it on ``transient`` errors until it succeeds or ``deadline``."""

    def out_of_time(_state: RetryCallState) -> bool:
        return time.monotonic() >= deadline

    backoff = wait_exponential_jitter(multiplier=0.5, max=5.0)

    def wait(state: RetryCallState) -> float:
        # Never sleep past the deadline: the last attempt happens just before it.
        return max(0.0, min(backoff(state), deadline - time.monotonic()))

    def say_waiting(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        why = str(exc) if isinstance(exc, NotYetError) else repr(exc)
        left = max(0.0, deadline - time.monotonic())
        _err.print(f"waiting for {what}: {why} ({left:.0f} s left)", markup=False, highlight=False)

    try:
        async for attempt in AsyncRetrying(
            stop=out_of_time,
            wait=wait,
            retry=retry_if_exception_type(transient),
            before_sleep=say_waiting,
            reraise=True,
        ):
            with attempt:
                return await step()
    except NotYetError as exc:
        raise InitError(f"{what}: still {exc} at the --timeout") from exc
    except transient as exc:
        raise InitError(f"{what} still not reachable at the --timeout: {exc!r}") from exc
    except Exception as exc:
        raise InitError(f"{what}: {exc!r}") from exc
    raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover


async def _schema_is_current(dsn: str) -> None:
    """Return once every migration is applied; raise :class:`NotYetError` otherwise."""
    async with connected(dsn) as conn:
        try:
            rows = await conn.fetch("SELECT version FROM schema_migrations")
        except asyncpg.UndefinedTableError:
            rows = []  # not one migration applied yet
    if missing := pending({r["version"] for r in rows}):
        raise NotYetError(f"{len(missing)} migrations pending ({missing[0].stem}, …)")


async def _topics_exist(bootstrap: str, wanted: dict[str, int], options: dict[str, Any]) -> None:
    """Return once every topic exists with its partitions; raise :class:`NotYetError` otherwise."""
    async with admin_client(bootstrap, request_timeout_ms=10000, **options) as admin:
        # Metadata of every topic: asking by name could auto-create a missing one.
        described: list[dict[str, Any]] = await admin.describe_topics()
    have = {t["topic"]: len(t["partitions"]) for t in described}
    short = [
        f"{name} ({have.get(name, 0)} of {count} partitions)"
        for name, count in wanted.items()
        if have.get(name, 0) < count
    ]
    if short:
        raise NotYetError(f"topics missing: {', '.join(short)}")


async def run_init(
    settings: Settings, *, topics: bool = True, wait: bool = False, timeout: float = 120.0
) -> list[str]:
    """Apply the migrations, then create the missing topics; return what was done, line by line.

    With ``wait``, change nothing: return once the schema is current and the topics exist.
    """
    deadline = time.monotonic() + timeout
    done: list[str] = []

    dsn = masked_dsn(settings.dsn)
    if wait:
        await _until_reachable(
            f"PostgreSQL at {dsn}",
            lambda: _schema_is_current(settings.dsn),
            _POSTGRES_UNREACHABLE,
            deadline,
        )
        done.append(f"postgres {dsn}: schema up to date")
    else:
        applied = await _until_reachable(
            f"PostgreSQL at {masked_dsn(settings.migration_dsn)}",
            lambda: apply_migrations(settings.migration_dsn),
            _POSTGRES_UNREACHABLE,
            deadline,
        )
        if applied:
            done.append(f"postgres {dsn}: {len(applied)} migrations applied ({', '.join(applied)})")
        else:
            done.append(f"postgres {dsn}: schema up to date, no migration pending")

    if not topics:
        # On Kubernetes the Strimzi topic operator owns the topics (KafkaTopic resources).
        done.append("kafka: topics not touched (--no-topics)")
        return done
    wanted = settings.topics.all()
    bootstrap = settings.bootstrap
    if wait:
        await _until_reachable(
            f"Kafka at {bootstrap}",
            lambda: _topics_exist(bootstrap, wanted, client_options(settings)),
            _KAFKA_UNREACHABLE,
            deadline,
        )
        done.append(f"kafka {bootstrap}: all {len(wanted)} topics exist")
        return done
    created = await _until_reachable(
        f"Kafka at {bootstrap}",
        # ensure_topics has a timeout of its own for a controller that refuses creations:
        # give it what is left of ours, so --timeout bounds the whole command.
        lambda: ensure_topics(
            bootstrap,
            wanted,
            max(1.0, deadline - time.monotonic()),
            options=client_options(settings),
        ),
        _KAFKA_UNREACHABLE,
        deadline,
    )
    made = ", ".join(f"{name} ({wanted[name]})" for name in created)
    existing = len(wanted) - len(created)
    done.append(
        f"kafka {bootstrap}: {len(created)} topics created{f' [{made}]' if made else ''}, "
        f"{existing} already there"
    )
    return done


def init(
    topics: Annotated[
        bool,
        typer.Option(
            "--topics/--no-topics",
            help="create the missing topics (--no-topics where an operator such as Strimzi "
            "creates them)",
        ),
    ] = True,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="change nothing: wait until every migration is applied and every topic exists "
            "(for a service's init container)",
        ),
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(min=1.0, help="seconds to wait for PostgreSQL and Kafka to become reachable"),
    ] = 120.0,
) -> None:
    """Apply the database migrations and create the Kafka topics, then exit (starts nothing)."""
    settings = local_settings()
    try:
        lines = asyncio.run(run_init(settings, topics=topics, wait=wait, timeout=timeout))
    except InitError as exc:
        _err.print("[red]landsync init failed:[/]")
        # Not markup: exception texts carry [brackets] that rich would try to parse.
        _err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(1) from exc
    for line in lines:
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """Add ``init`` to the ``landsync`` command."""
    app.command("init")(init)
