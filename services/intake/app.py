"""Intake's composition root: builds the FastAPI app and wires pool, broker, relay and keys."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline
from pydantic import TypeAdapter
from tenacity import AsyncRetrying

from services.intake import (
    backlog,
    dlq_routes,
    errors,
    import_routes,
    ledger,
    operations_routes,
    record_routes,
    report_routes,
    worklist_routes,
)
from services.intake.deps import Deps
from services.intake.group_lag import GroupLag
from services.intake.keys import KeyVerifier
from services.intake.probe_guard import ProbeGuard
from services.intake.query_guard import known_query_only
from services.intake.relay_process import RelayProcess
from services.intake.response_metrics import ResponseCounter
from services.intake.validation import Validator
from shared.db.pool import create_pool
from shared.kafka.producer import Producer
from shared.kafka.watch import watch_kafka_and_postgres
from shared.logging import get_logger
from shared.records import Form01Record
from shared.settings import IntakeSettings
from shared.transient import outage_wait

log = get_logger(__name__)


def create_app(settings: IntakeSettings, *, metrics_dir: str | None = None) -> FastAPI:
    """The intake ASGI app; nothing connects until the app starts."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # No connection at start (min_size=0): a worker starting during a database outage must
        # come up and answer 503, not fail, which makes uvicorn stop every worker.
        pool = await create_pool(
            settings.dsn, min_size=0, max_size=10, application_name="landsync-intake"
        )
        # This producer is for dead-letter replays and the readiness check; records reach Kafka
        # through the relay process. It connects in the background, with retries: intake takes
        # records (202) even while the broker is down.
        producer = Producer(settings, client_id="landsync-intake")
        validator = Validator(settings.intake_validators)
        await validator.start()
        relay = RelayProcess(settings)
        relay.start()
        group_lag = GroupLag(settings)
        app.state.deps = Deps(
            settings=settings,
            pool=pool,
            records=functools.partial(ledger.sessions, pool),
            producer=producer,
            relay=relay,
            keys=KeyVerifier(pool, settings.api_key_cache_seconds),
            validator=validator,
            probes=ProbeGuard(pool, settings.registry_misses_per_hour),
            metrics_dir=metrics_dir,
        )
        tasks = [
            asyncio.create_task(backlog.sample_forever(pool), name="backlog-metrics"),
            asyncio.create_task(group_lag.sample_forever(), name="group-lag-metrics"),
            asyncio.create_task(relay.watch(), name="relay-watch"),
            asyncio.create_task(_connect(producer), name="producer-connect"),
            *watch_kafka_and_postgres(producer, pool),
        ]
        log.info("intake started", port=settings.intake_port)
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await group_lag.close()
            await relay.stop(settings.graceful_timeout_seconds)
            await producer.stop()
            await pool.close()
            validator.close()
            log.info("intake stopped")

    # Swagger UI's and ReDoc's assets are served by intake itself: provincial networks are often
    # offline, and /docs was a blank page without the CDN.
    app = FastAPIOffline(
        title="LandSync intake",
        version="1.0",
        summary="Receives Form 01 land records and publishes them for reconciliation.",
        lifespan=lifespan,
        dependencies=[Depends(known_query_only)],
    )
    errors.install(app)
    app.add_middleware(ResponseCounter)
    app.include_router(record_routes.router)
    app.include_router(operations_routes.router)
    app.include_router(report_routes.router)
    app.include_router(dlq_routes.router)
    app.include_router(import_routes.router)
    app.include_router(worklist_routes.router)
    _document_record_schema(app)
    return app


async def _connect(producer: Producer) -> None:
    async for attempt in AsyncRetrying(wait=outage_wait(longest=10)):
        with attempt:
            await producer.start()


def _document_record_schema(app: FastAPI) -> None:
    """Put the record model in the OpenAPI components; the routes parse bodies themselves."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = original()
        schema = TypeAdapter(Form01Record).json_schema(ref_template="#/components/schemas/{model}")
        components = spec.setdefault("components", {}).setdefault("schemas", {})
        components.update(schema.pop("$defs", {}))
        components["Form01Record"] = schema
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
