"""A migrated database of a test's own on the session's PostgreSQL, dropped afterwards."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

from shared.db.connection import connected
from shared.db.migrate import apply_migrations
from shared.settings import Settings


@contextlib.asynccontextmanager
async def scratch_database(
    settings: Settings, prefix: str, *, before: str | None = None
) -> AsyncIterator[str]:
    """A database ``<prefix>_<random>`` migrated (up to ``before`` when given); its DSN.

    The application role may not create databases (least privilege): the cluster's superuser
    makes the scratch one, and owns what its migrations create.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    async with connected(settings.local_dsn("postgres", "postgres")) as admin:
        await admin.execute(f'CREATE DATABASE "{name}"')
        dsn = settings.local_dsn("postgres", name)
        try:
            await apply_migrations(dsn, before=before)
            yield dsn
        finally:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
