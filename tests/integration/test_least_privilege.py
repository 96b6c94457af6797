"""Least privilege on the local stack: passwords, roles, private files, secrets per process."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from shared.db.connection import connected
from shared.settings import PROJECT_ROOT, Settings
from shared.stack import Stack
from shared.stack import processes as proc
from shared.stack.postgres import SUPERUSER
from shared.stack.services import child_env, wait_ready
from tests.support import start_service


async def _connect(settings: Settings, user: str, **extra: Any) -> asyncpg.Connection[Any]:
    conn: asyncpg.Connection[Any] = await asyncpg.connect(
        host="127.0.0.1",
        port=settings.postgres_port,
        user=user,
        database=settings.postgres_db,
        **extra,
    )
    return conn


@pytest.mark.parametrize("who", ["superuser", "application", "migration"])
async def test_no_role_gets_in_without_its_password(
    stack: Stack, settings: Settings, who: str
) -> None:
    user = {
        "superuser": SUPERUSER,
        "application": settings.postgres_user,
        "migration": settings.postgres_migration_user,
    }[who]

    with pytest.raises(asyncpg.InvalidPasswordError):
        await _connect(settings, user, password="")
    with pytest.raises(asyncpg.InvalidPasswordError):
        await _connect(settings, user, password="guess")


async def test_the_application_role_is_no_superuser_and_owns_nothing(
    stack: Stack, settings: Settings
) -> None:
    async with connected(settings.dsn) as conn:
        me = await conn.fetchrow(
            "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        )
        owned = await conn.fetchval(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner"
            " WHERE r.rolname = current_user"
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE intruder (x int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("TRUNCATE api_keys")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("ALTER TABLE api_keys ADD COLUMN x int")

    assert me is not None
    assert dict(me) == {"rolsuper": False, "rolcreaterole": False, "rolcreatedb": False}
    assert owned == 0


async def test_a_table_a_later_migration_creates_is_usable_by_the_application_role(
    stack: Stack, settings: Settings
) -> None:
    table = f"later_{uuid.uuid4().hex[:8]}"
    async with connected(settings.migration_dsn) as owner:
        await owner.execute(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, v text)")
        try:
            async with connected(settings.dsn) as app:
                await app.execute(f"INSERT INTO {table} (v) VALUES ('x')")
                await app.execute(f"UPDATE {table} SET v = 'y'")
                assert await app.fetchval(f"SELECT v FROM {table}") == "y"
                await app.execute(f"DELETE FROM {table}")
        finally:
            await owner.execute(f"DROP TABLE {table}")


async def test_every_table_belongs_to_the_migration_role(stack: Stack, settings: Settings) -> None:
    async with connected(settings.migration_dsn) as conn:
        owners = await conn.fetch(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
        )

    assert {r["tableowner"] for r in owners} == {settings.postgres_migration_user}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_state_dir_its_secrets_and_kafka_data_are_private(
    stack: Stack, settings: Settings
) -> None:
    state = settings.state_dir.resolve()

    # The postgres user may traverse it (to its cluster), no one else may enter.
    assert _mode(state) & 0o007 == 0
    assert _mode(state) & 0o070 in {0, 0o010}
    secrets = sorted(settings.secret_dir.iterdir())
    assert secrets
    assert all(_mode(p) == 0o600 for p in secrets)
    assert _mode(settings.secret_dir) == 0o700
    kafka = [p for p in (state / "kafka").rglob("*") if not p.is_symlink()]
    assert any(p.name.endswith(".log") for p in kafka)
    leaky = [str(p) for p in kafka if _mode(p) & 0o077]
    assert leaky == []
    logs = list((state / "logs").iterdir())
    assert logs
    assert [str(p) for p in logs if _mode(p) & 0o077] == []
    pidfiles = list((state / "run").iterdir())
    assert pidfiles
    assert [str(p) for p in pidfiles if _mode(p) & 0o077] == []


def test_the_dsns_name_a_passfile_and_hold_no_password(stack: Stack, settings: Settings) -> None:
    status = stack.status()["services"]["postgres"]["dsn"]

    for role in (settings.postgres_user, settings.postgres_migration_user, SUPERUSER):
        password = settings.pgpass_file(role).read_text().strip().rsplit(":", 1)[1]
        assert password not in status
        assert password not in settings.migration_dsn
    assert "passfile=" in status


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    pairs = (item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)
    return dict(pairs)


def test_only_sync_and_the_simulator_hold_the_national_db_token(
    stack: Stack, settings: Settings
) -> None:
    holders = {}
    for name in ("intake", "reconcile", "sync", "national-db"):
        pid = proc.live_pid(stack.pidfile(name))
        assert pid is not None
        holders[name] = _environ(pid).get("LANDSYNC_NATIONAL_DB_TOKEN")

    assert holders == {
        "intake": None,
        "reconcile": None,
        "sync": settings.national_db_token,
        "national-db": settings.national_db_token,
    }


def _listening(port: int) -> set[str]:
    """The local addresses (hex, as /proc/net/tcp writes them) listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == "0A":  # LISTEN
                found.add(address)
    return found


def test_the_simulator_stays_on_loopback_when_bind_host_exposes_the_services(
    stack: Stack, settings: Settings, tmp_path: Path
) -> None:
    port = settings.national_db_port + 7
    env = child_env(settings, "national-db")
    env |= {"LANDSYNC_BIND_HOST": "0.0.0.0", "LANDSYNC_NATIONAL_DB_PORT": str(port)}
    log = tmp_path / "national-db.log"
    child = start_service("national_db", env, log)
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz", child.pid, log, timeout=30)

        assert _listening(port) == {"0100007F"}  # 127.0.0.1, not 0.0.0.0
    finally:
        child.terminate()
        child.wait(10)


def test_sync_refuses_clear_http_to_another_host(settings: Settings, tmp_path: Path) -> None:
    env = child_env(settings, "sync")
    env |= {
        "LANDSYNC_NATIONAL_DB_URL": "http://ndb.example.gov.vn",
        "LANDSYNC_SYNC_PORT": str(settings.sync_port + 7),
        "LANDSYNC_STATE_DIR": str(tmp_path),
    }

    done = subprocess.run(
        [sys.executable, "-m", "services.sync"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 1
    assert "LANDSYNC_NATIONAL_DB_ALLOW_INSECURE" in done.stderr
    assert settings.national_db_token not in done.stderr + done.stdout


def test_the_os_user_running_no_stack_cannot_read_a_secret(
    stack: Stack, settings: Settings
) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to try as another user")
    probe = subprocess.run(
        ["runuser", "-u", "nobody", "--", "cat", str(settings.pgpass_file(settings.postgres_user))],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )

    assert probe.returncode != 0
    assert "Permission denied" in probe.stderr
