"""The runtime of a consumer service: broker, database pool, health and metrics over HTTP."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import asyncpg
import orjson
from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.asgi.types import Scope
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import REGISTRY, make_asgi_app
from pydantic import BaseModel

from shared import serving
from shared.db.pool import create_pool
from shared.dependencies import pool_answers
from shared.kafka.broker import make_broker
from shared.kafka.consumer import BatchConsumer, GiveUp, Processor
from shared.kafka.dlq_guard import GuardLimits
from shared.kafka.producer import Producer
from shared.kafka.watch import watch_kafka_and_postgres
from shared.logging import get_logger
from shared.metrics import registry
from shared.process import MULTIPROC
from shared.settings import ConsumerSettings
from shared.topics import Topic

M = TypeVar("M", bound=BaseModel)
log = get_logger(__name__)


class Stoppable(Protocol):
    """A batch consumer as its runtime sees it."""

    def stop(self) -> None:
        """Give up the batch in hand; it will be redelivered."""

    @property
    def tripped(self) -> str | None:
        """Why its dead-letter guard stopped it, or None."""


class ConsumerRuntime:
    """Owns what a consumer service's handlers share; started and stopped by FastStream.

    Order matters: the pool opens before the broker starts consuming, and closes only after the
    broker has stopped, which waits for the in-flight batch (``graceful_timeout``).
    """

    def __init__(self, name: str, settings: ConsumerSettings, port: int) -> None:
        self.name = name
        self.settings = settings
        self.port = port
        self.broker: KafkaBroker = make_broker(
            settings,
            client_id=f"landsync-{name}",
            middlewares=(KafkaPrometheusMiddleware(registry=REGISTRY, app_name=name),),
        )
        self.producer = Producer(settings, client_id=f"landsync-{name}")
        self._pool: asyncpg.Pool[Any] | None = None
        self._on_stop: list[Callable[[], None]] = []
        self._on_open: list[Callable[[], Awaitable[None]]] = []
        self._on_close: list[Callable[[], Awaitable[None]]] = []
        self._stopped_because: list[Callable[[], str | None]] = []
        self._watches: list[asyncio.Task[None]] = []

    @property
    def pool(self) -> asyncpg.Pool[Any]:
        """The database pool; open from startup until after the broker stops."""
        if self._pool is None:
            raise RuntimeError("the database pool is not open yet")
        return self._pool

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` as shutdown begins (e.g. to end a retry loop)."""
        self._on_stop.append(callback)

    def consumes(self, consumer: Stoppable) -> None:
        """Stop ``consumer`` as shutdown begins, and be not ready while its guard has tripped."""
        self.on_stop(consumer.stop)
        self.not_ready_while(lambda: consumer.tripped)

    def consume(
        self,
        topic: Topic,
        *,
        group_id: str,
        model: type[M],
        processor: Processor[M],
        give_up: GiveUp,
        members: int,
        max_records: int | None = None,
        max_poll_interval_ms: int = 300_000,
    ) -> None:
        """Consume ``topic`` in batches with the deployment's batch and guard settings."""
        self.consumes(
            BatchConsumer(
                self.broker,
                self.producer,
                self.settings.topics,
                topic=topic,
                group_id=group_id,
                model=model,
                processor=processor,
                max_records=max_records or self.settings.consumer_batch_size,
                batch_timeout_ms=self.settings.consumer_batch_timeout_ms,
                members=members,
                max_poll_interval_ms=max_poll_interval_ms,
                guard=GuardLimits.of(self.settings),
                give_up=give_up,
            )
        )

    def not_ready_while(self, why: Callable[[], str | None]) -> None:
        """``/readyz`` answers 503 with ``why()`` whenever it returns a reason (a tripped guard)."""
        self._stopped_because.append(why)

    def on_open(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Await ``callback`` once the pool and producer are open, before consuming starts."""
        self._on_open.append(callback)

    def on_close(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Await ``callback`` after the broker has stopped, before the pool and producer close."""
        self._on_close.append(callback)

    async def _open(self) -> None:
        # Connections are opened on first use: a service started during a database outage
        # comes up and waits it out in its retry loop instead of failing to start.
        self._pool = await create_pool(
            self.settings.dsn, min_size=0, max_size=10, application_name=f"landsync-{self.name}"
        )
        await self.producer.start()
        self._watches = watch_kafka_and_postgres(self.producer, self._pool)
        for callback in self._on_open:
            await callback()

    async def _stopping(self) -> None:
        for callback in self._on_stop:
            callback()

    async def _close(self) -> None:
        for watch in self._watches:
            watch.cancel()
        await asyncio.gather(*self._watches, return_exceptions=True)
        for callback in self._on_close:
            await callback()
        await self.producer.stop()
        if self._pool is not None:
            await self._pool.close()
        log.info("service stopped")

    def serve(self) -> None:
        """Serve this service in this process until SIGTERM/SIGINT, then shut it down gracefully."""
        serving.serve(self.app(), self.settings, self.port)

    def app(self) -> AsgiFastStream:
        """The ASGI app: the broker's lifecycle plus ``/healthz`` and ``/metrics``."""
        return AsgiFastStream(
            self.broker,
            # FastStream's own lines ("app starting") through our JSON pipeline, not coloured text.
            logger=logging.getLogger("landsync.faststream"),
            asgi_routes=[
                ("/healthz", get(self._health)),
                ("/readyz", get(self._ready)),
                ("/metrics", make_asgi_app(registry(os.environ.get(MULTIPROC)))),
            ],
            on_startup=[self._open],
            on_shutdown=[self._stopping],
            after_shutdown=[self._close],
        )

    async def _health(self, _scope: Scope) -> AsgiResponse:
        broker_ok = bool(await self.broker.ping(timeout=2))
        try:
            database_ok = await pool_answers(self.pool)
        except Exception:  # noqa: BLE001 - health: any failure is "unhealthy"
            database_ok = False
        ok = broker_ok and database_ok
        body = orjson.dumps(
            {"status": "ok" if ok else "unhealthy", "broker": broker_ok, "database": database_ok}
        )
        return AsgiResponse(body, 200 if ok else 503, headers={"content-type": "application/json"})

    async def _ready(self, _scope: Scope) -> AsgiResponse:
        # Not ready while a consumer has stopped itself: the service is up, but not consuming.
        reasons = [why for check in self._stopped_because if (why := check())]
        body = orjson.dumps({"ready": not reasons, "reasons": reasons})
        return AsgiResponse(
            body, 503 if reasons else 200, headers={"content-type": "application/json"}
        )
