"""Typed HTTP errors with a JSON body, and handlers so that bad input never becomes a 500."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.intake.responses import JsonResponse
from shared.logging import get_logger
from shared.transient import TRANSIENT_TYPES, is_transient

log = get_logger(__name__)


class ApiError(Exception):
    """An expected refusal: its status and code reach the client as ``{"error": {...}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.errors = errors  # invalid_request: each parameter at fault


def error_body(code: str, message: str) -> dict[str, dict[str, Any]]:
    """The JSON body of every error response."""
    return {"error": {"code": code, "message": message}}


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JsonResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        body = error_body(exc.code, exc.message)
        if exc.errors is not None:
            body["error"]["errors"] = exc.errors
        return JsonResponse(body, exc.status, headers={**headers, **exc.headers})

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JsonResponse:
        body = error_body("invalid_request", "the request parameters are invalid")
        body["error"]["errors"] = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        return JsonResponse(body, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JsonResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JsonResponse(error_body(code, str(exc.detail)), exc.status_code)

    async def _unexpected(_: Request, exc: Exception) -> JsonResponse:
        log.error("unhandled error", error=type(exc).__name__, exc_info=exc)
        return JsonResponse(error_body("internal", "internal error; it has been logged"), 500)

    async def _unavailable(request: Request, exc: Exception) -> JsonResponse:
        if not is_transient(exc):  # an OSError that is not the network's
            return await _unexpected(request, exc)
        # A dependency is down or restarting: nothing was answered 202, the client may retry.
        log.warning("dependency unavailable", error=type(exc).__name__)
        body = error_body("unavailable", "the ledger database is unavailable; retry later")
        return JsonResponse(body, 503, headers={"Retry-After": "5"})

    for unavailable in (*TRANSIENT_TYPES, OSError):
        app.add_exception_handler(unavailable, _unavailable)
    app.add_exception_handler(Exception, _unexpected)
