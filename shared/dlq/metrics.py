"""Dead-letter metrics; the only label is the queue's short name, never a record or a person."""

from __future__ import annotations

from prometheus_client import Counter

from shared.metrics import with_labels
from shared.topics import DLQ_QUEUES

REPLAYED = with_labels(
    Counter(
        "landsync_dlq_replayed_total",
        "Dead letters published again by a replay (dry runs not counted).",
        ["queue"],
    ),
    DLQ_QUEUES,
)
