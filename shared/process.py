"""What every LandSync process does first: logging, and garbage-collector settings for bulk work."""

from __future__ import annotations

import gc

from shared.logging import configure_logging
from shared.settings import Settings


def prepare_process(service: str, settings: Settings) -> None:
    """Configure logging and the garbage collector for a service process."""
    configure_logging(service, settings.log_level)
    # Batches keep thousands of records alive at once; with CPython's default threshold (700)
    # the collector re-scans them over and over, which measured as half of validation time.
    gc.set_threshold(50_000, 20, 20)
    gc.freeze()  # objects from start-up (modules, settings) are never garbage: skip them
