"""uvicorn's HTTP protocol with a deadline on each request's head, against slow-header clients.

uvicorn times out only idle keep-alive connections: a client that opens a connection and sends
its headers a byte at a time holds it (and a slot of ``limit_concurrency``) for as long as it
likes. Here every request head (request line and headers) must arrive whole within
``LANDSYNC_HEADER_TIMEOUT_SECONDS`` of its first byte, or of the connection's start; otherwise
the connection is closed. Bodies are timed by the routes (``bodies.py``), chunk by chunk.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shared.settings import IntakeSettings

# Read once per worker process: uvicorn builds one protocol object per connection.
_HEADER_TIMEOUT = IntakeSettings().header_timeout_seconds


class HeadDeadlineProtocol(HttpToolsProtocol):
    """Closes a connection whose request head takes longer than the header timeout."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401 - uvicorn's own arguments, passed on
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock on the first request's head."""
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        """A later request on the connection: its head gets a deadline of its own."""
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        """The head is in: no deadline while the app reads the body and answers."""
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        """Nothing left to time."""
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_deadline is None:
            self._head_deadline = self.loop.call_later(_HEADER_TIMEOUT, self._too_slow)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _too_slow(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing():
            self.transport.close()
