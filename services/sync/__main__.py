"""Runs the sync service: ``python -m services.sync``."""

from __future__ import annotations

import sys

from services.sync.app import build
from services.sync.transport import insecure_url_problem
from shared.process import prepare_process
from shared.settings import SyncSettings


def main() -> None:
    """Start sync on the configured port."""
    settings = SyncSettings()
    prepare_process("sync", settings)
    problem = insecure_url_problem(
        settings.national_db, allow_insecure=settings.national_db_allow_insecure
    )
    if problem is not None:
        sys.exit(f"sync refuses to start: {problem}")
    build(settings).serve()


if __name__ == "__main__":
    main()
