"""Runs the reconcile service: ``python -m services.reconcile``."""

from __future__ import annotations

from services.reconcile.app import build
from shared.kafka.runtime import serve
from shared.process import prepare_process
from shared.settings import Settings


def main() -> None:
    """Start reconcile on the configured port."""
    settings = Settings()
    prepare_process("reconcile", settings)
    serve(build(settings))


if __name__ == "__main__":
    main()
