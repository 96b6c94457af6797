"""Sync's pure rules: idempotency keys, batching, backoff with Retry-After, settling outcomes."""

from __future__ import annotations

import uuid

import pytest

from services.sync.policy import (
    Refused,
    Synced,
    Unsent,
    backoff_delay,
    chunks,
    idempotency_key,
    parse_retry_after,
    request_key,
)
from services.sync.settle import SYNC_EXHAUSTED, SYNC_REJECTED, Pending, settle
from shared.kafka.dead_letters import Origin


def test_the_same_plot_version_always_gets_the_same_idempotency_key() -> None:
    assert idempotency_key("07396:12:345", 2) == idempotency_key("07396:12:345", 2)
    assert idempotency_key("07396:12:345", 1) != idempotency_key("07396:12:345", 2)
    assert idempotency_key("07396:12:345", 1) != idempotency_key("07396:12:346", 1)


def test_a_resent_batch_reuses_its_request_key() -> None:
    keys = ["07396:12:345:v1", "07396:12:346:v1"]
    assert request_key(keys) == request_key(list(keys))
    assert request_key(keys) != request_key(keys[:1])


def _highest(_low: float, high: float) -> float:
    return high


def _lowest(low: float, _high: float) -> float:
    return low


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    assert backoff_delay(1, initial=0.2, cap=30, rand=_highest) == pytest.approx(0.2)
    assert backoff_delay(4, initial=0.2, cap=30, rand=_highest) == pytest.approx(1.6)
    assert backoff_delay(20, initial=0.2, cap=30, rand=_highest) == 30
    assert backoff_delay(4, initial=0.2, cap=30, rand=_lowest) == 0


def test_backoff_never_retries_before_retry_after() -> None:
    assert backoff_delay(1, initial=0.2, cap=30, retry_after=2.0, rand=_lowest) == 2.0
    for failures in range(1, 10):
        assert backoff_delay(failures, initial=0.2, cap=30, retry_after=2.0) >= 2.0


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    assert parse_retry_after("2", 0) == 2.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:10 GMT", 4.0) == pytest.approx(6.0)
    assert parse_retry_after(None, 0) is None
    assert parse_retry_after("soon", 0) is None


def test_a_parcels_versions_travel_in_one_request_in_order() -> None:
    items = [("a", 1), ("b", 1), ("a", 2), ("c", 1), ("b", 2)]
    out = chunks(items, 3, group=lambda i: i[0])
    assert sorted(i for c in out for i in c) == sorted(items)
    for parcel in "abc":
        holding = [c for c in out if any(i[0] == parcel for i in c)]
        assert len(holding) == 1
        assert [v for p, v in holding[0] if p == parcel] == sorted(
            v for p, v in items if p == parcel
        )
    assert all(len(c) <= 3 for c in out)


def _pending(failures: int = 0) -> Pending:
    origin = Origin("land.plots.accepted", 0, 7, 1, b"k", b"{}", {})
    return Pending(uuid.uuid4(), "07396:12:345", 1, "07396", origin, failures)


def test_refusals_are_dead_lettered_as_rejected_and_failures_retry_until_exhausted() -> None:
    synced, refused, retried, spent = _pending(), _pending(), _pending(2), _pending(8)
    out = settle(
        [
            (synced, Synced("VN-1", "created", 1)),
            (refused, Refused("HTTP 422", 1)),
            (retried, Unsent("HTTP 503", 4, 3, None)),
            (spent, Unsent("HTTP 503", 2, 2, None)),
        ],
        max_attempts=10,
        backoff=lambda failures, _retry_after: float(failures),
    )
    assert [p for p, _ in out.synced] == [synced]
    assert [(d.pending.record_id, d.reason) for d in out.dead] == [
        (refused.record_id, SYNC_REJECTED),
        (spent.record_id, SYNC_EXHAUSTED),
    ]
    [retry] = out.retry
    assert retry.pending == retried
    assert retry.failures == 5
    assert retry.delay == 5.0
