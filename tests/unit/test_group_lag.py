"""Intake's outside measure of consumer lag: the arithmetic, and the groups it watches."""

from __future__ import annotations

from aiokafka import TopicPartition

from services.intake.group_lag import GROUPS, lag
from services.reconcile import app as reconcile
from services.sync import app as sync
from shared.topics import Topic

P0, P1, P2 = (TopicPartition("land.records.submitted", p) for p in range(3))


def test_lag_is_the_end_minus_the_committed_offset() -> None:
    assert lag({P0: 120, P1: 40}, {P0: 100, P1: 40}, {}) == {P0: 20, P1: 0}


def test_a_partition_never_committed_is_behind_from_its_first_kept_message() -> None:
    # Nothing committed yet (a dead consumer that never started): all of what the log still holds.
    assert lag({P0: 500, P1: 10}, {}, {P0: 200}) == {P0: 300, P1: 10}


def test_lag_is_never_negative() -> None:
    # End offsets are read a moment before the commits: a commit can already be past them.
    assert lag({P2: 10}, {P2: 12}, {}) == {P2: 0}


def test_the_groups_are_the_consumers_groups_and_topics() -> None:
    assert GROUPS == {reconcile.GROUP_ID: Topic.SUBMITTED, sync.GROUP_ID: Topic.ACCEPTED}
