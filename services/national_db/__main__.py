"""Runs the national database simulator: ``python -m services.national_db``."""

from __future__ import annotations

import time

import orjson
import uvicorn

from services.national_db.app import Simulator, build
from services.national_db.faults import Faults
from services.national_db.journal import Journal
from shared.process import prepare_process
from shared.settings import NationalDbSettings


def simulator(settings: NationalDbSettings) -> Simulator:
    """The simulator as configured: token, data file, faults and seed from ``LANDSYNC_*``."""
    faults = Faults().updated(
        orjson.loads(settings.national_db_faults or "{}"), now=time.monotonic()
    )
    return Simulator(
        settings.national_db_token,
        Journal(settings.national_db_journal_file),
        faults,
        settings.national_db_seed,
    )


def main() -> None:
    """Serve the simulator on the configured host and port until SIGTERM/SIGINT."""
    settings = NationalDbSettings()
    prepare_process("national-db", settings)
    uvicorn.run(
        build(simulator(settings)),
        # Its own bind setting: exposing intake must not expose the unauthenticated test
        # controls (/v1/_faults, /v1/_stats).
        host=settings.national_db_bind_host,
        port=settings.national_db_port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
