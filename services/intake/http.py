"""Intake's HTTP protocol: the head deadline of http_protocol.py, and a cap on the head's length.

httptools buffers a header of any length until it ends: a client could make intake hold a
megabyte per request. Past the cap (``LANDSYNC_MAX_HEADER_BYTES``, passed to uvicorn as
``h11_max_incomplete_event_size``, so h11 would enforce the same limit) the connection gets a
``431`` with the usual JSON error body and is closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from uvicorn.config import Config
from uvicorn.server import ServerState

from services.intake.http_protocol import HeadDeadlineProtocol

_DEFAULT_CAP = 32 * 1024
_LINGER_SECONDS = 2.0


class HeadCappedHttpToolsProtocol(HeadDeadlineProtocol):
    """Refuses a request whose head is longer than the cap, before it is buffered whole."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._cap = config.h11_max_incomplete_event_size or _DEFAULT_CAP
        self._in_head = True
        self._head_bytes = 0
        self._refused = False

    def data_received(self, data: bytes) -> None:
        """Feed the parser; refuse once the head so far exceeds the cap."""
        if self._refused:  # the rest of a refused request: read and dropped, never buffered
            return
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > self._cap and not self.transport.is_closing():
            self._refuse()

    def on_headers_complete(self) -> None:
        """The head ended within the cap: what follows is body."""
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The next bytes on this connection are the head of the next request."""
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0

    def _refuse(self) -> None:
        body = orjson.dumps(
            {
                "error": {
                    "code": "headers_too_large",
                    "message": f"the request line and headers exceed {self._cap} bytes",
                }
            }
        )
        head = (
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n"
        )
        self.transport.write(head + body)
        # Closing at once would reset the connection while the client still sends its head,
        # and it would never read the answer: drop what still comes for a moment, then close.
        self._refused = True
        self.loop.call_later(_LINGER_SECONDS, self.transport.close)
