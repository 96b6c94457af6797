"""Counts every HTTP response intake sends by status code, for the intake-5xx alert."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.intake import metrics


class ResponseCounter:
    """ASGI middleware: one count per response, ``500`` when the app raised before answering."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; count its response's status once it is sent (or not)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what Starlette's outermost middleware answers for an exception

        async def counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            metrics.RESPONSES.labels(str(status)).inc()
