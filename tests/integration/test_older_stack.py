"""A state dir made by an older version (trust on loopback, a superuser application role)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from rich.console import Console

from shared.auth import create_key, find_key
from shared.db.connection import connected
from shared.db.migrate import apply_migrations
from shared.settings import Settings, isolated
from shared.stack import Stack, postgres


def _old_cluster(settings: Settings, pgdata: Path, bindir: Path) -> None:
    """What ``landsync up`` of an older version left: initdb with trust, then stopped."""
    pgdata.mkdir(parents=True)
    if postgres.is_root():
        shutil.chown(pgdata, "postgres", "postgres")
    pgdata.chmod(0o700)
    argv = [str(bindir / "initdb"), "-D", str(pgdata), "-A", "trust", "-U", "postgres"]
    subprocess.run(postgres.as_postgres(argv), capture_output=True, cwd="/", check=True)
    with (pgdata / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.write(f"\ninclude_if_exists '{postgres.CONF_NAME}'\n")
    postgres.write_conf(settings, pgdata)


async def _old_schema(settings: Settings) -> str:
    """The older version's role (a superuser owning the tables), its schema and one key."""
    port = settings.postgres_port
    async with connected(host="127.0.0.1", port=port, user="postgres", database="postgres") as conn:
        await conn.execute("CREATE ROLE landsync LOGIN SUPERUSER")
        await conn.execute("CREATE DATABASE landsync OWNER landsync")
    old_dsn = f"postgresql://landsync@127.0.0.1:{port}/landsync"
    await apply_migrations(old_dsn)
    async with connected(old_dsn) as conn:
        _, key = await create_key(conn, "viewer", [])
    return key.key_id


@pytest.fixture
def old_state(tmp_path: Path) -> Iterator[tuple[Settings, Path]]:
    base = int(os.environ.get("LANDSYNC_TEST_PORT_BASE", "29000")) + 500
    settings = isolated(base, tmp_path / "state")
    settings.state_dir.mkdir()
    pgdata = postgres.data_dir(settings.state_dir)
    try:
        yield settings, pgdata
    finally:
        bindir = postgres.find_bindir()
        if bindir is not None and (pgdata / "postmaster.pid").exists():
            postgres.pg_ctl(bindir, pgdata, "-m", "immediate", "-w", "stop")
        shutil.rmtree(pgdata, ignore_errors=True)


async def test_up_on_an_older_trusting_cluster_switches_it_to_passwords_and_keeps_the_data(
    old_state: tuple[Settings, Path],
) -> None:
    settings, pgdata = old_state
    bindir = postgres.ensure_bindir()
    _old_cluster(settings, pgdata, bindir)
    postgres.start(bindir, pgdata, settings.state_dir / "old.log")
    key_id = await _old_schema(settings)
    postgres.stop(bindir, pgdata, settings.state_dir / "old.log")

    stack = Stack(settings, Console(stderr=True, quiet=True))
    stack.start_postgres()
    try:
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(
                host="127.0.0.1", port=settings.postgres_port, user="postgres", database="postgres"
            )
        async with connected(settings.dsn) as conn:
            found = await find_key(conn, key_id)
            superuser = await conn.fetchval(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            )
            owners = await conn.fetch(
                "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
            )
        assert found is not None
        assert superuser is False
        assert {r["tableowner"] for r in owners} == {settings.postgres_migration_user}
        stack.start_postgres()  # a second start finds it converted and changes nothing
    finally:
        stack.stop_postgres()


def test_up_after_the_state_dir_was_removed_starts_afresh_on_a_cluster_kept_elsewhere(
    old_state: tuple[Settings, Path],
) -> None:
    settings, pgdata = old_state
    if pgdata.is_relative_to(settings.state_dir.resolve()):
        pytest.skip("the cluster lives in the state dir here: removing one removes the other")
    stack = Stack(settings, Console(stderr=True, quiet=True))
    stack.start_postgres()
    stack.stop_postgres()
    shutil.rmtree(settings.state_dir)  # `make clean`: the passwords go, the cluster stays

    stack = Stack(settings, Console(stderr=True, quiet=True))
    stack.start_postgres()
    try:
        assert stack.status()["services"]["postgres"]["running"]
    finally:
        stack.stop_postgres()
