"""The made-up ledger of ``landsync bench report`` looks like a province's 90 days."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from shared.bench.ledger import CASE_COLUMNS, RECORD_COLUMNS, ledger

_NOW = datetime(2025, 11, 20, 9, tzinfo=UTC)


def test_the_ledger_has_the_records_asked_for_with_a_realistic_mix() -> None:
    communes = list(ledger(6_000, commune_count=12, seed=3, now=_NOW))
    records = [r for c in communes for r in c.records]
    col = {name: i for i, name in enumerate(RECORD_COLUMNS)}
    assert len(communes) == 12
    assert 6_000 <= len(records) <= 6_000 + 12  # a commune's last parcel may add a record
    decisions = Counter(r[col["decision"]] for r in records)
    assert 0.7 < decisions["accepted"] / len(records) < 0.85
    assert min(decisions[d] for d in ("rejected", "dead_lettered", "duplicate", "received")) > 0
    syncs = Counter(r[col["sync_state"]] for r in records if r[col["decision"]] == "accepted")
    assert syncs["synced"] > syncs["pending"] > 0
    assert syncs["failed"] > 0
    assert sum(r[col["corrects_record_id"]] is not None for r in records) > 0
    received = [r[col["received_at"]] for r in records]
    assert _NOW - timedelta(days=90) <= min(received)
    assert max(received) <= _NOW
    assert all(r[col["decided_at"]] is None or r[col["decided_at"]] <= _NOW for r in records)
    keys = Counter((r[col["commune_code"]], r[col["submission_id"]]) for r in records)
    assert max(keys.values()) == 1, "submission ids are unique per commune"


def test_each_parcel_has_one_case_and_a_parcel_key_corrected_elsewhere_is_closed() -> None:
    communes = list(ledger(4_000, commune_count=4, seed=5, now=_NOW))
    cases = [c for commune in communes for c in commune.cases]
    col = {name: i for i, name in enumerate(CASE_COLUMNS)}
    keys = [c[col["parcel_key"]] for c in cases]
    assert len(keys) == len(set(keys))
    records = {r[4] for commune in communes for r in commune.records}
    assert set(keys) == records
    states = Counter(c[col["state"]] for c in cases)
    assert set(states) == {"cleaned", "open", "pending", "corrected"}
    corrected = [c for c in cases if c[col["state"]] == "corrected"]
    assert all(c[col["corrected_by"]] is not None for c in corrected)
    opened = [c for c in cases if c[col["state"]] == "open"]
    assert all(c[col["reasons"]] for c in opened)
    assert all(commune.target_plots > 0 for commune in communes)
