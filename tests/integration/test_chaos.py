"""A bounded chaos run on a stack of its own: every component killed or paused, nothing lost."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator

import pytest
from rich.console import Console

from shared.chaos.checks import Evidence, Row, applied_twice, decided_twice, lost
from shared.chaos.run import Plan, Result, chaos_settings, run
from shared.settings import PROJECT_ROOT
from shared.stack import Stack

# Apart from the session's stack (LANDSYNC_TEST_PORT_BASE), which this run must not disturb.
BASE = int(os.environ.get("LANDSYNC_TEST_PORT_BASE", "29000")) + 600
PLAN = Plan(
    records=2_500,
    seed=33,  # kills PostgreSQL, a reconcile worker, Kafka; pauses intake, sync; error rate
    duration=40.0,
    faults=6,
    drain_timeout=180.0,
    port_base=BASE,
    state_dir=PROJECT_ROOT / f".landsync-test-chaos-{BASE}",
)


@pytest.fixture(scope="module")
def result() -> Iterator[Result]:
    """One run for the module's tests; its stack is stopped however the run ends."""
    try:
        yield run(PLAN, Console(stderr=True, quiet=True))
    finally:
        Stack(chaos_settings(PLAN), Console(quiet=True)).down()


def test_every_check_passes_after_the_faults(result: Result) -> None:
    failed = [(r.check, r.figure, r.examples) for r in result.rows if not r.passed]

    assert failed == [], "\n".join(result.log)
    assert result.acknowledged == PLAN.records


def test_the_faults_hit_processes_of_every_kind(result: Result) -> None:
    actions = {(f.component, f.action) for f in result.faults}

    assert {a for _, a in actions} >= {"sigkill", "sigstop"}
    assert len({c for c, _ in actions}) == PLAN.faults
    assert all("not running" not in line for line in result.log), result.log


def _without_one_ledger_row(ev: Evidence) -> Evidence:
    gone = next(iter(ev.acknowledged))
    return dataclasses.replace(ev, ledger={k: v for k, v in ev.ledger.items() if k != gone})


def _decided_again(ev: Evidence) -> Evidence:
    record_id, messages = next(iter(ev.decisions.items()))
    again = messages | {("land.records.rejected", "a second decision")}
    return dataclasses.replace(ev, decisions={**ev.decisions, record_id: again})


def _applied_again(ev: Evidence) -> Evidence:
    version = next(iter(ev.applied))
    return dataclasses.replace(ev, applied={**ev.applied, version: 2})


@pytest.mark.parametrize(
    ("check", "spoil"),
    [
        (lost, _without_one_ledger_row),
        (decided_twice, _decided_again),
        (applied_twice, _applied_again),
    ],
)
def test_the_run_s_own_evidence_with_one_wrong_item_fails_its_check(
    result: Result,
    check: Callable[[Evidence], Row],
    spoil: Callable[[Evidence], Evidence],
) -> None:
    assert check(result.evidence).passed
    assert not check(spoil(result.evidence)).passed
