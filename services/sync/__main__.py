"""Runs the sync service: ``python -m services.sync``."""

from __future__ import annotations

from services.sync.app import build
from shared.kafka.runtime import serve
from shared.process import prepare_process
from shared.settings import Settings


def main() -> None:
    """Start sync on the configured port."""
    settings = Settings()
    prepare_process("sync", settings)
    serve(build(settings))


if __name__ == "__main__":
    main()
