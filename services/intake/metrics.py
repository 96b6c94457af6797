"""Intake's Prometheus metrics; labels never carry personal data or record ids."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
RESPONSES = with_labels(
    Counter(
        "landsync_intake_http_responses_total",
        "HTTP responses intake sent, by status code (500 also for a request that raised).",
        ["code"],
    ),
    ("200", "202", "400", "401", "403", "404", "413", "422", "500", "503"),
)
# Sampled from the database every few seconds by each HTTP process (backlog.py): every process
# reads the same figures, so the most recent one is right.
OUTBOX_PENDING = Gauge(
    "landsync_intake_outbox_pending_messages",
    "Outbox rows not yet published to Kafka.",
    multiprocess_mode="livemostrecent",
)
OUTBOX_OLDEST = Gauge(
    "landsync_intake_outbox_oldest_seconds",
    "Age of the oldest record waiting in the outbox to be published (0 when it is empty).",
    multiprocess_mode="livemostrecent",
)
UNDECIDED = Gauge(
    "landsync_records_undecided",
    "Records answered 202 and not decided yet (decision 'received' in the ledger).",
    multiprocess_mode="livemostrecent",
)
UNDECIDED_OLDEST = Gauge(
    "landsync_records_undecided_oldest_seconds",
    "Age of the oldest record answered 202 and not decided yet (0 when there is none).",
    multiprocess_mode="livemostrecent",
)
GROUP_LAG = Gauge(
    "landsync_consumer_group_lag_messages",
    "Messages a consumer group has not committed behind a partition's end, measured by intake"
    " from outside the consumers (group_lag.py): it keeps growing while the consumer is dead.",
    ["topic", "partition", "group"],
    multiprocess_mode="livemostrecent",
)
