"""A seeded fault schedule as pure data: which component gets which fault, when, for how long."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

Component = Literal["intake", "reconcile", "sync", "kafka", "postgres", "national-db"]
Action = Literal["sigkill", "sigstop", "outage", "error_rate"]

#: Every component is killed and paused; the simulator also meets outages and error rates.
COMPONENTS: tuple[Component, ...] = ("intake", "reconcile", "sync", "kafka", "postgres",
                                     "national-db")  # fmt: skip
ACTIONS: dict[Component, tuple[Action, ...]] = {
    c: ("sigkill", "sigstop", "outage", "error_rate")
    if c == "national-db"
    else ("sigkill", "sigstop")
    for c in COMPONENTS
}
#: Seconds a fault lasts (a kill lasts as long as the supervisor takes to bring it back).
_LASTS: dict[Action, tuple[float, float]] = {
    "sigkill": (0.0, 0.0),
    "sigstop": (2.0, 6.0),
    "outage": (3.0, 8.0),
    "error_rate": (4.0, 10.0),
}


@dataclass(frozen=True)
class Fault:
    """One fault: ``at_seconds`` after the run starts, ``duration`` seconds long.

    ``rate`` is the share of the simulator's requests answered 503 for ``error_rate``.
    """

    at_seconds: float
    component: Component
    action: Action
    duration: float = 0.0
    rate: float = 0.0

    @property
    def ends_at(self) -> float:
        """When the fault is over (the process resumed, the outage or error rate lifted)."""
        return self.at_seconds + self.duration

    def describe(self) -> str:
        """``t=12.3s sigstop sync 4.1s``."""
        extra = f" {self.duration:.1f}s" if self.duration else ""
        rate = f" rate {self.rate:.2f}" if self.rate else ""
        return f"t={self.at_seconds:.1f}s {self.action} {self.component}{extra}{rate}"


def _order(rng: random.Random) -> list[tuple[Component, Action]]:
    """Every (component, action) once, in rounds: each component once before any twice."""
    ranked: list[tuple[int, float, Component, Action]] = []
    for component in COMPONENTS:
        actions = list(ACTIONS[component])
        rng.shuffle(actions)
        ranked.extend((rank, rng.random(), component, a) for rank, a in enumerate(actions))
    return [(c, a) for _, _, c, a in sorted(ranked)]


def schedule(seed: int, duration: float, count: int | None = None) -> list[Fault]:
    """``count`` faults (default: every kind once) spread over ``duration`` seconds, by seed.

    The same seed, duration and count give the same schedule. Faults start in the first 80 %
    of the window, one per slot of equal width with a jitter, so the last one ends before the
    window does and every component had one before any had two.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible by seed, not secret
    kinds = _order(rng)
    count = len(kinds) if count is None else count
    if count < 1 or duration <= 0:
        return []
    slot = duration * 0.8 / count
    faults = []
    for i in range(count):
        component, action = kinds[i % len(kinds)]
        low, high = _LASTS[action]
        lasts = round(min(rng.uniform(low, high), duration * 0.2), 1)
        rate = round(rng.uniform(0.2, 0.5), 2) if action == "error_rate" else 0.0
        at = round(i * slot + rng.uniform(0.1, 0.6) * slot, 1)
        faults.append(Fault(at, component, action, lasts, rate))
    return faults


def last_end(faults: list[Fault]) -> float:
    """When the last fault of the schedule is over (0 for none)."""
    return max((f.ends_at for f in faults), default=0.0)
