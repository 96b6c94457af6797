"""How a LandSync service runs uvicorn: on the bind host, its lines as our JSON, a bounded shutdown.

It imports no prometheus_client: a service's main process calls :func:`serve_workers` before
anything picks prometheus_client's mode (``shared.process.share_metrics``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict, Unpack

import uvicorn

from shared.process import share_metrics
from shared.settings import CommonSettings


class HttpLimits(TypedDict, total=False):
    """uvicorn's options for a service that faces clients (intake): its protocol and its caps."""

    http: str
    h11_max_incomplete_event_size: int
    timeout_keep_alive: int
    limit_concurrency: int


def serve(app: Callable[..., Any], settings: CommonSettings, port: int) -> None:
    """Serve ``app`` in this process until SIGTERM/SIGINT, then shut it down gracefully."""
    uvicorn.run(app, port=port, **_options(settings))


def serve_workers(
    name: str,
    factory: str,
    settings: CommonSettings,
    port: int,
    workers: int,
    **limits: Unpack[HttpLimits],
) -> None:
    """Serve ``workers`` processes of a service on one port; ``factory`` builds each one's app.

    Each worker process counts on its own; prometheus_client's multiprocess mode sums their
    metric files when ``/metrics`` is read, and the variable must be set before the workers import
    it. SIGTERM reaches uvicorn's supervisor, which stops every worker gracefully.
    """
    share_metrics(settings, name)
    uvicorn.run(factory, factory=True, port=port, workers=workers, **limits, **_options(settings))


class _Options(TypedDict):
    host: str
    log_config: None
    access_log: bool
    timeout_graceful_shutdown: int


def _options(settings: CommonSettings) -> _Options:
    return _Options(
        host=settings.bind_host,
        log_config=None,  # the root handler already renders every line as masked JSON
        access_log=False,
        timeout_graceful_shutdown=int(settings.graceful_timeout_seconds),
    )
