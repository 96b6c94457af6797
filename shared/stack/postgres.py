"""PostgreSQL from Debian: a project-local cluster run by pg_ctl (as the postgres user if root)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from shared.settings import Settings
from shared.stack.processes import StackError, open_log, tail, wait_reaped

CONF_NAME = "landsync.conf"
SUPERUSER = "postgres"
# First line of the pg_hba.conf we write: a cluster without it is from a version that trusted
# every local connection, and is switched to passwords on its next start.
HBA_MARKER = "# landsync: scram-sha-256 password authentication only"
# Unix socket paths are limited to 107 bytes; beyond that we listen on TCP only.
_MAX_SOCKET_PATH = 100


def is_root() -> bool:
    """PostgreSQL refuses to run as root, so root runs it as the ``postgres`` user."""
    return os.geteuid() == 0


def as_postgres(argv: list[str]) -> list[str]:
    """Prefix a command so it runs as the postgres system user when we are root."""
    return ["runuser", "-u", "postgres", "--", *argv] if is_root() else argv


def find_bindir() -> Path | None:
    """The directory holding initdb and pg_ctl: PATH first, then Debian's highest version."""
    found = shutil.which("pg_ctl")
    candidates = [Path(found).resolve().parent] if found else []
    debian = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(
        debian, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0
    )[::-1]
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


def ensure_bindir() -> Path:
    """Find PostgreSQL's server binaries, installing Debian's package when they are missing."""
    bindir = find_bindir()
    if bindir is not None:
        return bindir
    if not is_root() or shutil.which("apt-get") is None:
        raise StackError("PostgreSQL server binaries not found: install the 'postgresql' package")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Another checkout's bootstrap or stack may hold dpkg's lock: wait for it, as bootstrap.sh does.
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=900"]
    for argv in ([*apt, "update"], [*apt, "install", "-y", "postgresql"]):
        result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            raise StackError(f"{' '.join(argv)} failed:\n{result.stdout}{result.stderr}")
    bindir = find_bindir()
    if bindir is None:
        raise StackError(
            "postgresql installed, but no initdb/pg_ctl found under /usr/lib/postgresql"
        )
    return bindir


def data_dir(state_dir: Path) -> Path:
    """The cluster directory: in the state dir unless the postgres user cannot reach it."""
    preferred = state_dir / "postgres"
    if not is_root():
        return preferred
    probe = subprocess.run(as_postgres(["test", "-x", str(state_dir)]), cwd="/", check=False)
    if probe.returncode == 0:
        return preferred
    # E.g. a checkout under /root (mode 700): put the cluster where postgres may go, per state dir.
    digest = hashlib.sha256(str(state_dir).encode()).hexdigest()[:10]
    fallback = Path(f"/var/tmp/landsync-pg-{digest}")  # noqa: S108 - ownership checked below
    # /var/tmp is world-writable: refuse a directory (or symlink) planted by another user.
    if fallback.is_symlink() or (
        fallback.exists() and fallback.stat().st_uid not in (0, pwd.getpwnam("postgres").pw_uid)
    ):
        raise StackError(f"{fallback} exists but does not belong to postgres: remove it")
    return fallback


def _locale() -> str:
    # C.UTF-8 gives upper()/lower() for Vietnamese letters; plain C only knows ASCII.
    listed = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout
    names = {n.lower().replace("-", "") for n in listed.split()}
    return "C.UTF-8" if "c.utf8" in names else "C"


def init_cluster(bindir: Path, pgdata: Path, superuser_password: str) -> None:
    """Run initdb once (skipped when PG_VERSION exists): scram-sha-256, the superuser's password."""
    if (pgdata / "PG_VERSION").exists():
        return
    pgdata.mkdir(parents=True, exist_ok=True)
    if is_root():
        shutil.chown(pgdata, "postgres", "postgres")
    pgdata.chmod(0o700)
    # initdb reads the password from a file the postgres user can open: a private temporary one
    # (our state dir may be closed to postgres, and a command line is visible to everyone).
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", prefix="landsync-pw-") as pwfile:
        pwfile.write(superuser_password + "\n")
        pwfile.flush()
        if is_root():
            shutil.chown(pwfile.name, "postgres", "postgres")
        argv = [str(bindir / "initdb"), "-D", str(pgdata), "-A", "scram-sha-256"]
        argv += ["-U", SUPERUSER, f"--pwfile={pwfile.name}"]
        argv += ["--encoding=UTF8", f"--locale={_locale()}"]
        result = subprocess.run(
            as_postgres(argv), capture_output=True, text=True, cwd="/", check=False
        )
    if result.returncode != 0:
        raise StackError(f"initdb failed:\n{result.stdout}{result.stderr}")
    with (pgdata / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.write(f"\ninclude_if_exists '{CONF_NAME}'\n")
    write_hba(pgdata)


def write_hba(pgdata: Path) -> None:
    """Passwords (scram-sha-256) for every connection, on the socket and on loopback alike."""
    lines = [
        HBA_MARKER,
        "# Written by landsync up; edit shared/stack/postgres.py instead.",
        "local all all scram-sha-256",
        "host  all all 127.0.0.1/32 scram-sha-256",
        "host  all all ::1/128 scram-sha-256",
    ]
    hba = pgdata / "pg_hba.conf"
    hba.write_text("\n".join(lines) + "\n", "utf-8")
    hba.chmod(0o600)
    if is_root():
        shutil.chown(hba, "postgres", "postgres")


def discard_orphaned_cluster(bindir: Path, pgdata: Path, state_dir: Path) -> bool:
    """Remove a password-protected cluster outside the state dir whose passwords are gone.

    Called when the state dir has no superuser password yet. A cluster kept in /var/tmp (see
    :func:`data_dir`) outlives its state dir, e.g. after ``make clean``; with the state dir went
    its passwords, so nothing can log in any more, and the data was meant to go too.
    """
    if pgdata.resolve().is_relative_to(state_dir.resolve()) or not uses_passwords(pgdata):
        return False
    if pg_ctl(bindir, pgdata, "status") == 0:
        raise StackError(
            f"a PostgreSQL server of a removed state dir still runs on {pgdata}: stop it"
            f" (pg_ctl -D {pgdata} stop, as the postgres user) and run again"
        )
    shutil.rmtree(pgdata)
    return True


def uses_passwords(pgdata: Path) -> bool:
    """Whether the cluster's pg_hba.conf is ours (passwords only), not an older trusting one."""
    try:
        return (pgdata / "pg_hba.conf").read_text("utf-8").startswith(HBA_MARKER)
    except FileNotFoundError:
        return False


def write_conf(settings: Settings, pgdata: Path) -> None:
    """Our settings, rewritten on every start so a changed port takes effect."""
    socket_dir = str(pgdata) if len(str(pgdata)) < _MAX_SOCKET_PATH else ""
    lines = [
        "# Written by landsync up on every start; edit shared/stack/postgres.py instead.",
        "listen_addresses = '127.0.0.1'",
        f"port = {settings.postgres_port}",
        f"unix_socket_directories = '{socket_dir}'",
        "max_connections = 100",
        # The registry of a province (1.8 M residents, 0.7 M certificates and their indexes) and
        # the hot end of the ledger stay in PostgreSQL's own cache.
        "shared_buffers = 1GB",
        # JIT compiles a plan when its cost looks high: a batch lookup of thousands of keys does,
        # and then pays 10-50 ms of compiling for a 30 ms query, every batch.
        "jit = off",
        "fsync = on  # the tests prove durability: never trade it away",
        "synchronous_commit = on",
        # Bulk intake writes gigabytes of WAL per province: fewer, spread-out checkpoints keep
        # throughput steady instead of stalling every minute or so.
        "max_wal_size = 4GB",
        "checkpoint_timeout = 15min",
        "checkpoint_completion_target = 0.9",
        "wal_compression = lz4",
        "work_mem = 16MB",
        "effective_cache_size = 4GB",
        "logging_collector = off  # stderr goes to <state_dir>/logs/postgres.log",
        "log_line_prefix = '%m [%p] '",
    ]
    conf = pgdata / CONF_NAME
    conf.write_text("\n".join(lines) + "\n", "utf-8")
    if is_root():
        shutil.chown(conf, "postgres", "postgres")


def pg_ctl(bindir: Path, pgdata: Path, *args: str, log: Path | None = None) -> int:
    """Run pg_ctl on the cluster; with ``log`` its output (and the server's) is appended there."""
    argv = as_postgres([str(bindir / "pg_ctl"), "-D", str(pgdata), *args])
    if log is None:
        return subprocess.run(argv, capture_output=True, cwd="/", check=False).returncode
    # We open the log ourselves: the postgres user may not be allowed into the state dir.
    with open_log(log) as out:
        result = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            cwd="/",
            start_new_session=True,
            check=False,
        )
    return result.returncode


def start(bindir: Path, pgdata: Path, log: Path) -> int:
    """Start the server and wait until it accepts connections; return the postmaster pid."""
    lock = pgdata / "postmaster.pid"
    if lock.exists():  # after a crash: pg_ctl and the postmaster take a zombie for a live server
        wait_reaped(int(lock.read_text("utf-8").split()[0]), 30.0)
    if pg_ctl(bindir, pgdata, "status") != 0:
        code = pg_ctl(bindir, pgdata, "-w", "-t", "60", "start", log=log)
        if code != 0:
            raise StackError(f"pg_ctl start failed (exit {code}); {log} ends with:\n{tail(log)}")
    return int((pgdata / "postmaster.pid").read_text("utf-8").split()[0])


def stop(bindir: Path, pgdata: Path, log: Path) -> None:
    """Fast shutdown: roll back open transactions, checkpoint, exit."""
    if pg_ctl(bindir, pgdata, "-m", "fast", "-w", "-t", "60", "stop", log=log) != 0:
        raise StackError(f"pg_ctl stop failed; {log} ends with:\n{tail(log)}")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Passwords:
    """The generated passwords of the superuser, the migration role and the application role."""

    superuser: str
    migration: str
    application: str


async def adopt_trusting_cluster(settings: Settings, pgdata: Path, superuser_password: str) -> None:
    """Switch a cluster made by an older version (trust on loopback) to passwords.

    While its pg_hba.conf still trusts loopback, give the superuser its password; then write
    ours and have the server reload it. The roles are put right by :func:`ensure_roles_and_db`.
    """
    try:
        conn = await asyncpg.connect(
            host="127.0.0.1", port=settings.postgres_port, user=SUPERUSER, database="postgres"
        )
    except asyncpg.InvalidAuthorizationSpecificationError as exc:
        raise StackError(
            f"the PostgreSQL cluster in {pgdata} neither trusts loopback nor has our"
            f" pg_hba.conf: fix {pgdata / 'pg_hba.conf'} or remove {pgdata} to recreate it"
        ) from exc
    try:
        await conn.execute(f"ALTER ROLE {SUPERUSER} PASSWORD {_literal(superuser_password)}")
        write_hba(pgdata)
        await conn.fetchval("SELECT pg_reload_conf()")
    finally:
        await conn.close()
    # The postmaster rereads pg_hba.conf on SIGHUP, asynchronously: wait until trust is gone.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            probe = await asyncpg.connect(
                host="127.0.0.1", port=settings.postgres_port, user=SUPERUSER, database="postgres"
            )
        except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError):
            return
        await probe.close()
        await asyncio.sleep(0.1)
    raise StackError(f"PostgreSQL did not reload {pgdata / 'pg_hba.conf'} within 10 s")


async def _superuser(settings: Settings, password: str, database: str) -> asyncpg.Connection[Any]:
    try:
        conn: asyncpg.Connection[Any] = await asyncpg.connect(
            host="127.0.0.1",
            port=settings.postgres_port,
            user=SUPERUSER,
            password=password,
            database=database,
        )
    except asyncpg.InvalidPasswordError as exc:
        file = settings.pgpass_file(SUPERUSER)
        raise StackError(
            f"PostgreSQL refuses the superuser password in {file}: the cluster was created with"
            " another one (was the state dir or that file removed?). Restore the file, or run"
            " `landsync down` and remove the cluster directory named in"
            f" {settings.state_dir.resolve() / 'postgres-data-dir'} to start afresh (its data is"
            " lost)"
        ) from exc
    return conn


async def ensure_roles_and_db(settings: Settings, passwords: Passwords) -> None:
    """The migration role, the application role and the database, with least privilege.

    The migration role owns the database and everything in it; the application role (no
    superuser, owns nothing) may only read and write rows. ``ALTER DEFAULT PRIVILEGES`` makes
    every table and sequence a later migration creates usable by the application role at once.
    Idempotent, and it also converts a database of an older version, whose application role was
    a superuser owning every table.
    """
    app, owner, db = settings.postgres_user, settings.postgres_migration_user, settings.postgres_db
    conn = await _superuser(settings, passwords.superuser, "postgres")
    try:
        for role, password in ((owner, passwords.migration), (app, passwords.application)):
            verb = (
                "ALTER"
                if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
                else "CREATE"
            )
            await conn.execute(
                f"{verb} ROLE {_ident(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
                f" NOREPLICATION NOBYPASSRLS PASSWORD {_literal(password)}"
            )
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db):
            await conn.execute(f"CREATE DATABASE {_ident(db)} OWNER {_ident(owner)}")
    finally:
        await conn.close()
    conn = await _superuser(settings, passwords.superuser, db)
    try:
        a, o = _ident(app), _ident(owner)
        async with conn.transaction():
            await conn.execute(f"ALTER DATABASE {_ident(db)} OWNER TO {o}")
            # An older version's application role owned the tables: hand them to the owner.
            await conn.execute(f"REASSIGN OWNED BY {a} TO {o}")
            await conn.execute(
                f"REVOKE ALL ON DATABASE {_ident(db)} FROM PUBLIC;"
                f" GRANT CONNECT, TEMPORARY ON DATABASE {_ident(db)} TO {a};"
                f" ALTER SCHEMA public OWNER TO {o};"
                " REVOKE ALL ON SCHEMA public FROM PUBLIC;"
                f" GRANT USAGE ON SCHEMA public TO {a};"
                f" ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public"
                f"  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {a};"
                f" ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public"
                f"  GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {a};"
                f" GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {a};"
                f" GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {a}"
            )
    finally:
        await conn.close()
