"""The chaos checks: each passes on clean evidence and fails on one deliberately wrong item."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from shared.chaos.checks import (
    Evidence,
    LedgerRow,
    Row,
    against_truth,
    applied_twice,
    check_all,
    decided_twice,
    drain,
    faults,
    lost,
    stuck,
)
from shared.evaluate import Expected

ACCEPTED, REJECTED, DUPLICATE = "r-accepted", "r-rejected", "r-duplicate"


def _clean() -> Evidence:
    """Three records answered 202: one accepted and synced, one rejected, one a duplicate."""
    return Evidence(
        acknowledged={ACCEPTED: "s1", REJECTED: "s2", DUPLICATE: "s3"},
        ledger={
            ACCEPTED: LedgerRow("s1", "p1", "accepted", "synced", 1),
            REJECTED: LedgerRow("s2", "p2", "rejected", reasons=frozenset({"missing_fields"})),
            DUPLICATE: LedgerRow("s3", "p1", "duplicate"),
        },
        decisions={
            ACCEPTED: frozenset({("land.plots.accepted", "version 1")}),
            REJECTED: frozenset({("land.records.rejected", "missing_fields")}),
        },
        applied={("p1", 1): 1},
        truth={
            "s1": Expected("accepted", frozenset()),
            "s2": Expected("rejected", frozenset({"missing_fields"})),
            "s3": Expected("duplicate", frozenset()),
        },
        faults_scheduled=3,
        faults_applied=3,
        last_fault_end=30.0,
        drained_at=42.5,
        drain_timeout=300,
    )


def _with(**changes: object) -> Evidence:
    return dataclasses.replace(_clean(), **changes)  # type: ignore[arg-type]


def _ledger(record_id: str, **changes: object) -> dict[str, LedgerRow]:
    ledger = dict(_clean().ledger)
    ledger[record_id] = dataclasses.replace(ledger[record_id], **changes)  # type: ignore[arg-type]
    return ledger


def test_every_check_passes_on_clean_evidence() -> None:
    rows = check_all(_clean())

    assert [r.check for r in rows if not r.passed] == []
    assert len(rows) == 7


def test_the_drain_figure_is_the_seconds_after_the_last_fault() -> None:
    assert drain(_clean()).figure == "12.5 s (after the last fault)"


def test_records_still_sent_after_the_last_fault_are_not_counted_as_drain() -> None:
    assert drain(_with(last_acknowledged_at=40.0)).figure == "2.5 s (after the last 202)"


def test_no_check_passes_on_evidence_of_a_run_that_did_nothing() -> None:
    empty = Evidence(acknowledged={}, ledger={}, decisions={}, applied={}, truth={})

    assert [r.check for r in check_all(empty) if r.passed] == []


NEGATIVE_CONTROLS: dict[str, tuple[Callable[[Evidence], Row], Evidence]] = {
    "a 202'd record missing from the ledger": (
        lost,
        _with(ledger={k: v for k, v in _clean().ledger.items() if k != REJECTED}),
    ),
    "a decided record whose decision never reached its topic": (
        lost,
        _with(decisions={ACCEPTED: _clean().decisions[ACCEPTED]}),
    ),
    "a plot synced in the ledger that the national database does not hold": (
        lost,
        _with(applied={}),
    ),
    "a record with two different decisions on the topics": (
        decided_twice,
        _with(
            decisions={
                **_clean().decisions,
                REJECTED: frozenset(
                    {
                        ("land.records.rejected", "missing_fields"),
                        ("land.plots.accepted", "version 1"),
                    }
                ),
            }
        ),
    ),
    "a record accepted twice, as two versions": (
        decided_twice,
        _with(
            decisions={
                **_clean().decisions,
                ACCEPTED: frozenset(
                    {("land.plots.accepted", "version 1"), ("land.plots.accepted", "version 2")}
                ),
            }
        ),
    ),
    "a topic that disagrees with the ledger's decision": (
        decided_twice,
        _with(ledger=_ledger(REJECTED, decision="accepted", sync_state="synced", plot_version=1)),
    ),
    "a plot version the national database wrote twice": (
        applied_twice,
        _with(applied={("p1", 1): 2}),
    ),
    "an accepted plot never synced": (
        stuck,
        _with(ledger=_ledger(ACCEPTED, sync_state="pending")),
    ),
    "a record never decided": (
        stuck,
        _with(ledger=_ledger(REJECTED, decision="received")),
    ),
    "a decision other than the truth's": (
        against_truth,
        _with(truth={**_clean().truth, "s2": Expected("accepted", frozenset())}),
    ),
    "a 202'd record the generator never made": (
        against_truth,
        _with(acknowledged={**_clean().acknowledged, "r-stranger": "s9"}),
    ),
    "a fault that hit nothing": (
        faults,
        _with(faults_applied=2),
    ),
    "a run that never drained": (
        drain,
        _with(drained_at=None),
    ),
    "a run with no fault applied": (
        drain,
        _with(last_fault_end=None),
    ),
}


@pytest.mark.parametrize("wrong", list(NEGATIVE_CONTROLS))
def test_a_check_fails_on_one_deliberately_wrong_item(wrong: str) -> None:
    check, evidence = NEGATIVE_CONTROLS[wrong]

    assert check(_clean()).passed
    assert not check(evidence).passed


def test_a_failed_check_names_examples_and_counts_what_was_wrong() -> None:
    row = lost(_with(ledger={k: v for k, v in _clean().ledger.items() if k != REJECTED}))

    assert row.figure == "1 of 3 records"
    assert row.examples == (REJECTED,)
