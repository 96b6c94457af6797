"""The dead-letter guard: stops a consumer that would otherwise dead-letter everything it reads.

In the spirit of arroyo's ``DlqLimit``. One bad deploy (a bug raising on every record) would
send a whole topic to ``land.dlq.poison``, one record at a time. Per partition, the guard keeps
the run of consecutive dead-lettered records and their share of the last ``window`` records; a
dead letter that would pass either limit is not sent, the guard *trips*, and the consumer waits
and tries the same batch again (as for an outage) until processing succeeds: the cause was
fixed, or the service redeployed. Pure bookkeeping, no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from shared.settings import ConsumerSettings

Partition = tuple[str, int]


class GuardTrippedError(Exception):
    """Dead-lettering one more record would pass the guard's limit: stop, wait, retry."""


@dataclass(frozen=True)
class GuardLimits:
    """When to stop: a run of ``max_run`` dead letters, or over ``max_ratio`` of the window."""

    max_run: int = 100
    max_ratio: float = 0.5
    window: int = 1000
    min_seen: int = 200  # the ratio counts only once this many records of the partition were seen

    @classmethod
    def of(cls, settings: ConsumerSettings) -> GuardLimits:
        """The limits a deployment set (``LANDSYNC_DLQ_GUARD_MAX_RUN``, ``_MAX_RATIO``)."""
        return cls(settings.dlq_guard_max_run, settings.dlq_guard_max_ratio)


@dataclass
class _Partition:
    run: int = 0
    recent: deque[bool] = field(default_factory=deque)  # True: dead-lettered


class DlqGuard:
    """Counts outcomes per partition and says when a dead letter would be one too many."""

    def __init__(self, limits: GuardLimits) -> None:
        self._limits = limits
        self._partitions: dict[Partition, _Partition] = {}
        self.tripped: str | None = None  # why, while tripped

    def processed(self, partitions: Iterable[Partition]) -> None:
        """Records went through (one partition per record): their runs end, the guard resets."""
        for p in partitions:
            state = self._state(p)
            state.run = 0
            self._note(state, dead=False)
        self.tripped = None

    def dead_letter(self, partitions: Iterable[Partition]) -> None:
        """Allow these dead letters (one partition each), or none of them: trip and raise."""
        wanted = list(partitions)
        for p in set(wanted):
            self._check(p, wanted.count(p))
        for p in wanted:
            state = self._state(p)
            state.run += 1
            self._note(state, dead=True)

    def _check(self, partition: Partition, more: int) -> None:
        limits = self._limits
        state = self._state(partition)
        dead = sum(state.recent) + more
        seen = min(len(state.recent) + more, limits.window)
        why = None
        if state.run + more > limits.max_run:
            why = f"{state.run} records in a row dead-lettered"
        elif seen >= limits.min_seen and dead / seen > limits.max_ratio:
            why = f"{dead} of the last {seen} records dead-lettered"
        if why is not None:
            self.tripped = f"{partition[0]}[{partition[1]}]: {why}"
            raise GuardTrippedError(self.tripped)

    def _note(self, state: _Partition, *, dead: bool) -> None:
        state.recent.append(dead)
        if len(state.recent) > self._limits.window:
            state.recent.popleft()

    def _state(self, partition: Partition) -> _Partition:
        return self._partitions.setdefault(partition, _Partition())
