"""Sync's Prometheus metrics; labels carry outcomes only, never a parcel or a person."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from shared.metrics import with_labels
from shared.reasons import Reason

REQUEST_SECONDS = with_labels(
    Histogram(
        "landsync_sync_request_seconds",
        "Duration of batchUpsert requests to the national database, by outcome.",
        ["outcome"],
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    ),
    ("ok", "rate_limited", "unavailable", "refused", "error"),
)
RETRIES = with_labels(
    Counter(
        "landsync_sync_retries_total",
        "Waits before a request to the national database is sent again, by cause.",
        ["cause"],
    ),
    ("rate_limited", "unavailable", "error"),
)
RETRY_AFTER_CLAMPED = Counter(
    "landsync_sync_retry_after_clamped_total",
    "429 answers whose Retry-After was longer than LANDSYNC_SYNC_MAX_RETRY_AFTER_SECONDS.",
)
BREAKER_STATE = Gauge(
    "landsync_sync_breaker_state",
    "Circuit breaker to the national database: 0 closed, 1 half-open, 2 open.",
)
PLOTS = with_labels(
    Counter(
        "landsync_sync_plots_total",
        "Plots settled by sync, by outcome.",
        ["outcome"],
    ),
    (
        "created",
        "updated",
        "unchanged",
        Reason.SYNC_REJECTED,
        Reason.SYNC_EXHAUSTED,
        "retry_later",
    ),
)
