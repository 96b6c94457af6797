"""What a failed ``landsync`` command prints and exits with: one line, and a status per kind."""

from __future__ import annotations

import traceback
from enum import IntEnum
from types import TracebackType
from urllib.parse import urlsplit

import asyncpg
import httpx
from pydantic import ValidationError

from shared.cli.config import local_settings
from shared.settings import Settings
from shared.stack import StackError


class Status(IntEnum):
    """The exit statuses of ``landsync`` (the epilog of ``landsync --help`` lists them)."""

    OK = 0
    REFUSED = 1  # done, but not all of it: records or rows refused, nothing found, declined
    USAGE = 2  # a wrong option or argument, or an input file that cannot be used at all
    CONFIG = 3  # a LANDSYNC_* variable whose value is not valid, or a login refused
    UNREACHABLE = 4  # PostgreSQL, Kafka or a service is not reachable, or would not start
    SERVICE = 5  # reachable, but it refused or failed the request
    INTERNAL = 6  # a bug of LandSync: `landsync --debug …` shows where


EPILOG = (
    "Exit status: 0 done; 1 done in part (records or rows refused, nothing found, declined);"
    " 2 wrong usage or an unusable input file; 3 a LANDSYNC_* variable is not valid;"
    " 4 PostgreSQL, Kafka or a service is not reachable (run `landsync up`), or would not start;"
    " 5 a service refused or failed the request; 6 an internal error."
    " Every failure is one line on stderr; --debug adds the traceback."
)


class CommandError(Exception):
    """A failure the user can act on: the message is the line printed, ``status`` the exit."""

    def __init__(self, message: str, status: Status) -> None:
        super().__init__(message)
        self.status = status


def explain(exc: BaseException, settings: Settings | None) -> CommandError:
    """The one-line failure an exception stands for (``settings``: where the stack runs)."""
    while isinstance(exc, BaseExceptionGroup):  # asyncio task groups wrap the real cause
        exc = exc.exceptions[0]
    for kind in (_ours, _bad_setting, _http, _kafka, _postgres, _stack, _file):
        if (found := kind(exc, settings)) is not None:
            return found
    first = str(exc).strip().splitlines()[:1]
    return CommandError(
        f"internal error ({type(exc).__name__}{': ' + first[0] if first else ''}):"
        " `landsync --debug …` shows the traceback; please report it",
        Status.INTERNAL,
    )


def report(exc: BaseException, *, debug: bool) -> tuple[str, Status]:
    """The line to print for ``exc`` and the exit status; the traceback first when ``debug``."""
    if debug:
        traceback.print_exception(exc)
    try:
        settings: Settings | None = local_settings()
    except ValidationError:
        settings = None
    error = explain(exc, settings)
    return str(error), error.status


# --------------------------------------------------------------------------------------- kinds


def _ours(exc: BaseException, _: Settings | None) -> CommandError | None:
    return exc if isinstance(exc, CommandError) else None


def _stack(exc: BaseException, _: Settings | None) -> CommandError | None:
    if isinstance(exc, StackError):
        # Several lines on purpose: the component's log tail says why it would not start.
        return CommandError(f"the local stack: {exc}", Status.UNREACHABLE)
    return None


def _file(exc: BaseException, _: Settings | None) -> CommandError | None:
    if isinstance(exc, OSError) and exc.filename is not None:
        return CommandError(f"{exc.filename}: {exc.strerror or exc}", Status.USAGE)
    return None


def _bad_setting(exc: BaseException, _: Settings | None) -> CommandError | None:
    if not (isinstance(exc, ValidationError) and exc.title == Settings.__name__):
        return None
    problems = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        name = f"LANDSYNC_{field.upper()}"
        # Only numbers and flags are echoed: a text setting may be a password, token or URL.
        shown = f"={error['input']}" if _echoable(field, error["input"]) else ""
        problems.append(f"{name}{shown} is not valid ({error['msg']})")
    return CommandError("; ".join(problems) + ": correct it or unset it", Status.CONFIG)


def _echoable(field: str, value: object) -> bool:
    annotation = Settings.model_fields[field].annotation if field in Settings.model_fields else None
    return annotation in {int, float, bool} and isinstance(value, str) and len(value) < 40


def _unreachable(what: str, where: str, remedy: str) -> CommandError:
    return CommandError(f"{what} at {where} is not reachable: {remedy}", Status.UNREACHABLE)


def _http(exc: BaseException, settings: Settings | None) -> CommandError | None:
    if not isinstance(exc, httpx.TransportError):
        return None
    try:
        url = exc.request.url
    except RuntimeError:  # no request attached
        return CommandError(f"an HTTP request failed: {exc}", Status.UNREACHABLE)
    base = f"{url.scheme}://{url.host}:{url.port}"
    name, remedy = "the service", "check that it runs (`landsync status`)"
    if settings is not None:
        for service in ("intake", "national-db", "reconcile", "sync"):
            if settings.service_url(service) == base:
                name, remedy = service, "run `landsync up` (`landsync status` shows what runs)"
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
        return CommandError(f"{name} at {base} did not answer in time: try again", Status.SERVICE)
    return _unreachable(name, base, remedy)


def _kafka(exc: BaseException, settings: Settings | None) -> CommandError | None:
    from aiokafka.errors import KafkaConnectionError  # noqa: PLC0415 - only when Kafka was used

    if not isinstance(exc, KafkaConnectionError) and not (
        isinstance(exc, OSError) and _from_module(exc.__traceback__, "aiokafka")
    ):
        return None
    if settings is None:
        return _unreachable("Kafka", "LANDSYNC_KAFKA_BOOTSTRAP", "run `landsync up`")
    remote = "check LANDSYNC_KAFKA_BOOTSTRAP and that the cluster runs"
    remedy = remote if settings.kafka_bootstrap else "run `landsync up`"
    return _unreachable("Kafka", settings.bootstrap, remedy)


_LOGIN = asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError


def _postgres(exc: BaseException, settings: Settings | None) -> CommandError | None:
    if not (_from_module(exc.__traceback__, "asyncpg") or isinstance(exc, asyncpg.PostgresError)):
        return None
    where = _postgres_address(settings)
    remote = settings is not None and settings.database_url is not None
    if isinstance(exc, _LOGIN):
        fix = "check LANDSYNC_DATABASE_URL" if remote else "run `landsync up` (it writes them)"
        return CommandError(
            f"PostgreSQL at {where} refused the login ({exc}): {fix}", Status.CONFIG
        )
    if isinstance(exc, asyncpg.UndefinedTableError | asyncpg.InvalidCatalogNameError):
        return CommandError(
            f"PostgreSQL at {where} has no LandSync schema ({exc}): run `landsync up`"
            " (`landsync init` on a deployed database)",
            Status.SERVICE,
        )
    if isinstance(exc, OSError | asyncpg.CannotConnectNowError | asyncpg.InterfaceError):
        fix = (
            "check LANDSYNC_DATABASE_URL and that the server runs"
            if remote
            else "run `landsync up`"
        )
        return _unreachable("PostgreSQL", where, fix)
    if isinstance(exc, asyncpg.PostgresError):
        return CommandError(f"PostgreSQL at {where} refused the request: {exc}", Status.SERVICE)
    return None


def _postgres_address(settings: Settings | None) -> str:
    if settings is None:
        return "LANDSYNC_DATABASE_URL"
    parts = urlsplit(settings.dsn)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}"


def _from_module(tb: TracebackType | None, package: str) -> bool:
    """Whether a frame of the traceback runs code of ``package`` (which library failed)."""
    for frame, _ in traceback.walk_tb(tb):
        name = str(frame.f_globals.get("__name__", ""))
        if name == package or name.startswith(f"{package}."):
            return True
    return False
