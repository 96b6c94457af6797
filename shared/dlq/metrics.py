"""Dead-letter metrics; the only label is the queue's short name, never a record or a person."""

from __future__ import annotations

from prometheus_client import Counter

REPLAYED = Counter(
    "landsync_dlq_replayed_total",
    "Dead letters published again by a replay (dry runs not counted).",
    ["queue"],  # owner-unresolved | mortgaged | sync-failed | poison
)
