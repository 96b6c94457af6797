"""Runs the reconcile service: ``python -m services.reconcile``."""

from __future__ import annotations

from faststream.asgi import AsgiFastStream

from services.reconcile.app import build
from shared.process import prepare_process
from shared.serving import serve_workers
from shared.settings import ReconcileSettings


def app() -> AsgiFastStream:
    """The app factory uvicorn calls in each worker process."""
    settings = ReconcileSettings()
    prepare_process("reconcile", settings)
    return build(settings).app()


def main() -> None:
    """Start reconcile on the configured port, in the configured number of processes."""
    settings = ReconcileSettings()
    prepare_process("reconcile", settings)
    if settings.reconcile_workers <= 1:
        build(settings).serve()
        return
    serve_workers(
        "reconcile",
        "services.reconcile.__main__:app",
        settings,
        settings.reconcile_port,
        settings.reconcile_workers,
    )


if __name__ == "__main__":
    main()
