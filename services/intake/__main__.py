"""Runs the intake service: ``python -m services.intake``."""

from __future__ import annotations

import uvicorn

from services.intake.app import create_app
from shared.logging import configure_logging
from shared.settings import Settings


def main() -> None:
    """Start intake on the configured port."""
    settings = Settings()
    configure_logging("intake", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.bind_host,
        port=settings.intake_port,
        log_config=None,  # our root handler already renders every line as masked JSON
        access_log=False,
        timeout_graceful_shutdown=int(settings.graceful_timeout_seconds),
    )


if __name__ == "__main__":
    main()
