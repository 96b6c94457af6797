"""Runs the sync service: ``python -m services.sync``."""

from __future__ import annotations

from services.sync.app import build
from shared.kafka.runtime import serve
from shared.logging import configure_logging
from shared.settings import Settings


def main() -> None:
    """Start sync on the configured port."""
    settings = Settings()
    configure_logging("sync", settings.log_level)
    serve(build(settings))


if __name__ == "__main__":
    main()
