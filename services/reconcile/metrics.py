"""Reconcile's Prometheus metrics; labels carry codes and commune codes, never personal data."""

from __future__ import annotations

from prometheus_client import Counter

from shared.metrics import with_labels

DECISIONS = Counter(
    "landsync_reconcile_decisions_total",
    "Records decided, by outcome, reason (one count per reason; 'none' when accepted) and commune.",
    ["outcome", "reason", "commune"],
)
SKIPPED = with_labels(
    Counter(
        "landsync_reconcile_redelivered_total",
        "Records delivered again after their decision: 'resent' if its output had not been"
        " acknowledged, 'skipped' if it had, 'unknown' if the ledger has no such record.",
        ["kind"],
    ),
    ("resent", "skipped", "unknown"),
)
