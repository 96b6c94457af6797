"""Unknown or repeated query parameters are refused: a misspelt filter must not widen an answer.

``GET /v1/records?comune=07339`` would otherwise list every commune's records. The parameters
known to a route are the ones its OpenAPI documents, so the docs and the check cannot disagree.
"""

from __future__ import annotations

from fastapi import FastAPI, Request

from services.intake.errors import ApiError


def _known(app: FastAPI) -> dict[tuple[str, str], frozenset[str]]:
    known: dict[tuple[str, str], frozenset[str]] | None = getattr(app.state, "known_query", None)
    if known is None:
        known = {
            (path, method.upper()): frozenset(
                p["name"] for p in operation.get("parameters", []) if p["in"] == "query"
            )
            for path, operations in app.openapi()["paths"].items()
            for method, operation in operations.items()
        }
        app.state.known_query = known
    return known


async def known_query_only(request: Request) -> None:
    """422 naming the first query parameter the route does not take."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    if path is None or not request.query_params:
        return
    known = _known(request.app).get((path, request.method))
    if known is None:  # not in the OpenAPI (the docs pages): nothing to check against
        return
    for name in request.query_params:
        if len(request.query_params.getlist(name)) > 1:  # none takes a list: which one counts?
            raise ApiError(
                422,
                "invalid_request",
                f"query parameter {name!r} is given more than once",
                errors=[{"loc": ["query", name], "msg": "give it once"}],
            )
        if name not in known:
            takes = ", ".join(sorted(known)) or "none"
            raise ApiError(
                422,
                "invalid_request",
                f"unknown query parameter {name!r}",
                errors=[{"loc": ["query", name], "msg": f"not a parameter here; known: {takes}"}],
            )
