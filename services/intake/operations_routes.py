"""Intake's operations routes: liveness, readiness, Prometheus metrics and the AsyncAPI document."""

from __future__ import annotations

import functools

from fastapi import APIRouter
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    generate_latest,
)
from starlette.responses import Response

from services.intake import schemas
from services.intake.deps import DepsDep
from services.intake.responses import JsonResponse
from shared import asyncapi
from shared.dependencies import pool_answers
from shared.metrics import registry

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> schemas.Health:
    """Liveness: the process answers."""
    return schemas.Health(status="ok")


@router.get(
    "/readyz",
    responses=schemas.ok(schemas.Readiness, "Ready.")
    | schemas.ok(schemas.Readiness, "Not ready: the failing checks.", 503),
)
async def readyz(d: DepsDep) -> Response:
    """Readiness: the database and the broker are reachable, and the outbox relay runs."""
    checks: dict[str, bool] = {}
    try:
        checks["database"] = await pool_answers(d.pool)
    except Exception:  # noqa: BLE001 - readiness: any failure is "not ready"
        checks["database"] = False
    checks["broker"] = await d.producer.ping(timeout=2)
    checks["relay"] = d.relay.alive
    ready = all(checks.values())
    return JsonResponse({"ready": ready, "checks": checks}, 200 if ready else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: schemas.binary("text/plain", "Prometheus text exposition.")},
)
async def prometheus_metrics(d: DepsDep) -> Response:
    """Prometheus text exposition, summed over the worker processes."""
    return Response(generate_latest(registry(d.metrics_dir)), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/asyncapi.yaml",
    response_class=Response,
    responses={
        200: {
            "description": "The AsyncAPI 3.0 document.",
            "content": {"application/yaml": {"schema": {"type": "object"}}},
        }
    },
)
async def asyncapi_document() -> Response:
    """The Kafka topics, their keys, payloads and headers: docs/asyncapi.yaml."""
    return Response(_asyncapi_text(), media_type="application/yaml")


@functools.cache
def _asyncapi_text() -> str:
    return asyncapi.as_yaml()
