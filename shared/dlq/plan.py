"""Which dead letters a replay publishes, refuses or skips, and what it publishes. No I/O."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from shared.dlq.model import DeadLetter, Filter, Position
from shared.kafka.dead_letters import REPLAY_COUNT
from shared.kafka.producer import Outgoing
from shared.topics import Topic, Topics


@dataclass(frozen=True)
class ReplayPlan:
    """The matching dead letters sorted into those to publish, refuse, or skip as already done."""

    replay: list[DeadLetter]
    refused: list[DeadLetter]  # at the replay limit, or with nowhere to go back to
    skipped: list[DeadLetter]  # replayed before


def plan_replay(
    letters: Iterable[DeadLetter],
    wanted: Filter,
    replayed: AbstractSet[Position],
    *,
    max_replays: int,
    target: Callable[[DeadLetter], str | None],
) -> ReplayPlan:
    """Sort the dead letters the filter matches; ``limit`` caps the ones to publish."""
    plan = ReplayPlan([], [], [])
    for letter in letters:
        if not wanted.matches(letter):
            continue
        if letter.position in replayed:
            plan.skipped.append(letter)
        elif letter.replay_count >= max_replays or target(letter) is None:
            plan.refused.append(letter)
        else:
            plan.replay.append(letter)
    if wanted.limit:
        del plan.replay[wanted.limit :]
    return plan


def replay_target(queue: str, letter: DeadLetter, topics: Topics) -> str | None:
    """Where a dead letter goes back to, or None when it cannot go back anywhere.

    Owner and mortgage letters go back to reconciliation, sync failures to sync; a poison message
    goes back to the topic it was consumed from, if that is one LandSync consumes.
    """
    if queue == "sync-failed":
        return topics.name(Topic.ACCEPTED)
    if queue == "poison":
        consumed = {topics.name(Topic.SUBMITTED), topics.name(Topic.ACCEPTED)}
        original = letter.headers.get("dlq.original.topic", "")
        return original if original in consumed else None
    return topics.name(Topic.SUBMITTED)


def replay_message(letter: DeadLetter, topic: str) -> Outgoing:
    """The original value and key again, its ids kept and its replay count one higher."""
    headers = {REPLAY_COUNT: str(letter.replay_count + 1)}
    for name in ("record.id", "commune.code"):
        if letter.headers.get(name):
            headers[name] = letter.headers[name]
    return Outgoing(topic, letter.value, letter.key, headers)
