"""Applies the ordered SQL files in ``migrations/`` once each, recorded in ``schema_migrations``."""

from __future__ import annotations

from pathlib import Path

from shared.db.connection import connected

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Any constant works; it only has to be the same for every process applying migrations.
_LOCK_KEY = 0x4C414E44


def pending(applied: set[str], before: str | None = None) -> list[Path]:
    """The migration files not yet applied, in order; with ``before``, those sorting before it."""
    return [
        p
        for p in sorted(MIGRATIONS_DIR.glob("*.sql"))
        if p.stem not in applied and (before is None or p.stem < before)
    ]


async def apply_migrations(dsn: str, *, before: str | None = None) -> list[str]:
    """Apply every pending migration; safe to call concurrently and repeatedly.

    ``before`` stops at the first file whose name does not sort before it (tests of a migration
    start from the schema just before it).
    """
    async with connected(dsn) as conn:
        try:
            # The advisory lock makes concurrent callers (up + a test session) apply each file once.
            await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            rows = await conn.fetch("SELECT version FROM schema_migrations")
            done: list[str] = []
            for path in pending({r["version"] for r in rows}, before):
                async with conn.transaction():
                    await conn.execute(path.read_text(encoding="utf-8"))
                    await conn.execute(
                        "INSERT INTO schema_migrations (version) VALUES ($1)", path.stem
                    )
                done.append(path.stem)
            return done
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
