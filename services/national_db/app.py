"""The simulator's HTTP API (CONTRACT §7) and its composition root.

422 semantics: a batch holding a parcel listed in ``reject_parcels`` is refused as a whole with
``422`` and nothing in it is applied; the body names every refused item
(``{"error": {...}, "refused": [{"parcel_key", "idempotency_key", "error"}]}``), so a client can
take those aside and send the rest again at once. Items that are malformed, or that reuse a version
with other content, are answered per item as ``invalid`` inside a ``200``.
"""

from __future__ import annotations

import asyncio
import hmac
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from services.national_db.faults import FaultKind, Faults
from services.national_db.journal import Journal
from services.national_db.registry import Registry, counted
from shared.logging import get_logger
from shared.tracing import request_span

log = get_logger(__name__)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:  # noqa: ANN401 - a JSON value
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _error(
    status: int, code: str, message: str, *, headers: dict[str, str] | None = None, **extra: object
) -> Response:
    """The error envelope, with ``extra`` top-level fields (the refused items)."""
    return _json({"error": {"code": code, "message": message}, **extra}, status, headers)


class Simulator:
    """The simulator's state: the registry, its journal, the faults and the Retry-After book."""

    def __init__(self, token: str, journal: Journal, faults: Faults, seed: int | None) -> None:
        self._token = f"Bearer {token}".encode()
        self.registry = Registry()
        self.journal = journal
        self.faults = faults
        self._rng = random.Random(seed)  # noqa: S311 - fault draws, not secrets
        self._lock = asyncio.Lock()  # one plan → journal → commit at a time, in journal order
        self._not_before: dict[str, float] = {}  # idempotency key → end of its Retry-After

    def authorised(self, request: Request) -> bool:
        """Whether the request carries the configured bearer token."""
        given = request.headers.get("authorization", "").encode()
        return hmac.compare_digest(given, self._token)

    def draw_fault(self, now: float, parcels: frozenset[str]) -> FaultKind | None:
        """The fault this request meets, if any."""
        return self.faults.draw(now, self._rng, parcels)

    def note_retries(self, keys: list[str], now: float) -> None:
        """Count keys sent again before the Retry-After they were answered with had passed."""
        for key in keys:
            deadline = self._not_before.pop(key, None)
            if deadline is not None and now < deadline:
                self.registry.stats.early_retries += 1

    def hold(self, keys: list[str], now: float) -> None:
        """Remember that these keys were told to wait ``retry_after_s``."""
        if len(self._not_before) > 100_000:  # keys never retried: forget the expired ones
            self._not_before = {k: t for k, t in self._not_before.items() if t > now}
        deadline = now + self.faults.retry_after_s
        self._not_before.update(dict.fromkeys(keys, deadline))

    async def upsert(self, items: list[Any]) -> list[dict[str, Any]]:
        """Plan, make durable, then apply: a 200 is only answered for what survives a crash."""
        async with self._lock:
            plan = self.registry.plan(items)
            after = counted(self.registry.stats, plan)
            await asyncio.to_thread(self.journal.append, plan, after)
            self.registry.commit(plan)
        return [r.as_json() for r in plan.results]


async def _body_items(request: Request) -> list[Any] | Response:
    try:
        body = orjson.loads(await request.body())
    except ClientDisconnect:
        # The client (sync, killed or timed out) went away mid-body: nobody to answer.
        log.info("client went away before its body arrived")
        return Response(status_code=400)
    except orjson.JSONDecodeError:
        return _error(400, "invalid_json", "the body is not JSON")
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return _error(400, "invalid_body", 'the body must be {"items": [...]}')
    return items


def _keys(items: list[Any], field: str) -> list[str]:
    return [i[field] for i in items if isinstance(i, dict) and isinstance(i.get(field), str)]


def _sim(request: Request) -> Simulator:
    sim: Simulator = request.app.state.simulator
    return sim


def _unauthenticated() -> Response:
    return _error(401, "unauthenticated", "a valid bearer token is required")


async def batch_upsert(request: Request) -> Response:
    """``POST /v1/parcels:batchUpsert``: faults first, then refusals, then the upsert."""
    # The national database's side of the trace, child of sync's request (shared/tracing.py).
    with request_span("national_db.batch_upsert", request.headers):
        return await _batch_upsert(request)


async def _batch_upsert(request: Request) -> Response:
    sim = _sim(request)
    sim.registry.stats.requests += 1
    if not sim.authorised(request):
        return _unauthenticated()
    items = await _body_items(request)
    if isinstance(items, Response):
        return items
    keys = _keys(items, "idempotency_key")
    sim.note_retries(keys, time.monotonic())
    response = await _answer(sim, items, keys)
    if sim.faults.latency_ms:
        # After the work, as a slow network would: a client that gives up (or dies) meanwhile
        # leaves a batch applied but unanswered, which its idempotency keys must then cover.
        await asyncio.sleep(sim.faults.latency_ms / 1000)
    return response


async def _answer(sim: Simulator, items: list[Any], keys: list[str]) -> Response:
    fault = _fault_response(sim, keys, frozenset(_keys(items, "parcel_key")))
    if fault is not None:
        return fault
    rejected = sim.faults.reject_parcels
    refused = [
        {
            "parcel_key": i["parcel_key"],
            "idempotency_key": i.get("idempotency_key"),
            "error": "parcel refused by the national database",
        }
        for i in items
        # A parcel_key of another JSON type is the item's own error ("invalid"), found later.
        if isinstance(i, dict)
        and isinstance(i.get("parcel_key"), str)
        and i["parcel_key"] in rejected
    ]
    if refused:
        sim.registry.stats.refused += len(refused)
        return _error(422, "parcel_refused", "parcels refused; nothing applied", refused=refused)
    return _json({"results": await sim.upsert(items)})


def _fault_response(sim: Simulator, keys: list[str], parcels: frozenset[str]) -> Response | None:
    now = time.monotonic()
    fault = sim.draw_fault(now, parcels)
    if fault == "rate_limited":
        sim.registry.stats.rate_limited += 1
        sim.hold(keys, now)
        retry_after = {"Retry-After": sim.faults.retry_after_header()}
        return _error(429, "rate_limited", "too many requests", headers=retry_after)
    if fault is not None:
        sim.registry.stats.unavailable += 1
        return _error(503, fault, "the national database is unavailable")
    return None


async def parcel(request: Request) -> Response:
    """``GET /v1/parcels/{parcel_key}``."""
    sim = _sim(request)
    if not sim.authorised(request):
        return _unauthenticated()
    found = sim.registry.parcels.get(request.path_params["parcel_key"])
    if found is None:
        return _error(404, "not_found", "no such parcel")
    return _json(
        {
            "parcel_key": found.parcel_key,
            "national_id": found.national_id,
            "version": found.version,
            "plot": found.plot,
        }
    )


async def stats(request: Request) -> Response:
    """``GET /v1/_stats``: a test control, no token."""
    registry = _sim(request).registry
    return _json(asdict(registry.stats) | {"parcels": len(registry.parcels)})


async def faults(request: Request) -> Response:
    """``GET|POST /v1/_faults``: a test control, no token."""
    sim = _sim(request)
    now = time.monotonic()
    if request.method == "POST":
        try:
            body = orjson.loads(await request.body() or b"{}")
            if not isinstance(body, dict):
                raise TypeError("the body must be an object")
            sim.faults = sim.faults.updated(body, now)
        except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
            return _error(400, "invalid_faults", str(exc))
        log.info("faults set", **sim.faults.as_json(now))
    return _json(sim.faults.as_json(now))


async def health(_request: Request) -> Response:
    """``GET /healthz``."""
    return _json({"status": "ok"})


async def _unexpected(_request: Request, exc: Exception) -> Response:
    # A JSON body even for a bug, as the real service's clients expect of every answer.
    log.error("unhandled error", error=type(exc).__name__, exc_info=exc)
    return _error(500, "internal", "internal error; it has been logged")


def build(sim: Simulator) -> Starlette:
    """The ASGI app around one simulator; its journal is replayed at startup."""

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        sim.journal.open(sim.registry)
        log.info("national database simulator ready", parcels=len(sim.registry.parcels))
        try:
            yield
        finally:
            sim.journal.close()

    app = Starlette(
        routes=[
            Route("/v1/parcels:batchUpsert", batch_upsert, methods=["POST"]),
            Route("/v1/parcels/{parcel_key}", parcel, methods=["GET"]),
            Route("/v1/_stats", stats, methods=["GET"]),
            Route("/v1/_faults", faults, methods=["GET", "POST"]),
            Route("/healthz", health, methods=["GET"]),
        ],
        lifespan=lifespan,
        exception_handlers={Exception: _unexpected},
    )
    app.state.simulator = sim
    return app
