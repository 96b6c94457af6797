"""Intake's Prometheus metrics; labels never carry personal data or record ids."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from shared.metrics import with_labels

RECORDS = with_labels(
    Counter(
        "landsync_intake_records_total",
        "Records answered by intake, by how they were answered.",
        ["status"],
    ),
    ("received", "duplicate_submission", "refused"),
)
OUTBOX_PUBLISHED = Counter(
    "landsync_intake_outbox_published_total",
    "Outbox messages published to Kafka and acknowledged.",
)
BATCH_SECONDS = with_labels(
    Histogram(
        "landsync_intake_request_seconds",
        "Time to answer a record submission request.",
        ["endpoint"],
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    ),
    ("json", "ndjson"),
)
REGISTRY_PROBE_REFUSALS = Counter(
    "landsync_intake_registry_probe_refusals_total",
    "Submissions refused because their key had too many owner_unresolved decisions in an hour.",
)
