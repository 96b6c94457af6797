"""Runs the intake service: ``python -m services.intake``."""

from __future__ import annotations

import os

from fastapi import FastAPI

from shared.process import MULTIPROC, prepare_process
from shared.serving import serve_workers
from shared.settings import IntakeSettings


def app() -> FastAPI:
    """The app factory uvicorn calls in each worker process (in this one, with one worker)."""
    # Imported here, not above: prometheus_client picks multiprocess mode when first imported,
    # so it must come after main() has set PROMETHEUS_MULTIPROC_DIR, which with one worker is
    # in this very process.
    from services.intake.app import create_app  # noqa: PLC0415

    settings = IntakeSettings()
    prepare_process("intake", settings)
    return create_app(settings, metrics_dir=os.environ.get(MULTIPROC))


def main() -> None:
    """Start intake on the configured port, with the configured number of worker processes."""
    settings = IntakeSettings()
    prepare_process("intake", settings)
    serve_workers(
        "intake",
        "services.intake.__main__:app",
        settings,
        settings.intake_port,
        settings.intake_workers,
        # Slow clients: a deadline on each request's head (the protocol), on idle keep-alive
        # connections (uvicorn's own) and on bodies (bodies.py); and a cap on connections.
        # Oversize heads: the same protocol caps their length (http.py).
        http="services.intake.http:HeadCappedHttpToolsProtocol",
        h11_max_incomplete_event_size=settings.max_header_bytes,  # the cap, as in http.py
        timeout_keep_alive=5,
        limit_concurrency=settings.intake_max_connections,
    )


if __name__ == "__main__":
    main()
