"""The one way LandSync builds a FastStream Kafka broker, which its services subscribe with."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from faststream.kafka import KafkaBroker

from shared.kafka.security import broker_security
from shared.settings import CommonSettings

#: How old the clients' view of the cluster (which node leads which partition) may grow. A
#: connection failure refreshes it at once, but when a node has just died the others still name
#: it leader until the controller fences it (5 s): refreshed then, a client kept fetching from
#: the dead node for aiokafka's default 5 minutes (a three-node test saw one partition stall).
METADATA_MAX_AGE_MS = 10_000


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
        metadata_max_age_ms=METADATA_MAX_AGE_MS,
        middlewares=middlewares,
        # FastStream's own lines go through the root handler, so they come out as masked JSON.
        logger=logging.getLogger("landsync.faststream"),
    )
