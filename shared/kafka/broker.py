"""The one way LandSync builds a FastStream Kafka broker, which its services subscribe with."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from faststream.kafka import KafkaBroker

from shared.kafka.security import broker_security
from shared.settings import CommonSettings


def make_broker(
    settings: CommonSettings, *, client_id: str, middlewares: Sequence[Any] = ()
) -> KafkaBroker:
    """A broker for subscribers; publishing goes through :mod:`shared.kafka.producer`."""
    return KafkaBroker(
        # FastStream takes a str as one address: a cluster's "a:9092,b:9092" must be a list.
        settings.bootstrap.split(","),
        client_id=client_id,
        security=broker_security(settings),
        graceful_timeout=settings.graceful_timeout_seconds,
        middlewares=middlewares,
        # FastStream's own lines go through the root handler, so they come out as masked JSON.
        logger=logging.getLogger("landsync.faststream"),
    )
