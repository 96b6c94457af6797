"""Sync's pure rules: idempotency keys, batches, backoff with Retry-After, response outcomes."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

T = TypeVar("T")


def idempotency_key(parcel_key: str, version: int) -> str:
    """The item key: the same plot version always gets the same key, on every attempt and replay."""
    return f"{parcel_key}:v{version}"


def request_key(item_keys: Sequence[str]) -> str:
    """The request's ``Idempotency-Key``: derived from its items, so a re-sent batch reuses it."""
    return hashlib.sha256("\n".join(item_keys).encode()).hexdigest()[:32]


def backoff_delay(
    failures: int,
    *,
    initial: float,
    cap: float,
    retry_after: float | None = None,
    rand: Callable[[float, float], float] = random.uniform,
) -> float:
    """Seconds to wait after ``failures`` failed attempts: full jitter, never before Retry-After.

    Full jitter (uniform between 0 and the exponential ceiling) spreads the retries of many
    clients, so they do not return in lockstep after an outage.
    """
    ceiling = min(cap, initial * 2 ** max(0, failures - 1))
    return max(retry_after or 0.0, rand(0.0, ceiling))


def parse_retry_after(value: str | None, now_epoch: float) -> float | None:
    """``Retry-After`` in seconds, from delay-seconds or an HTTP date; None if absent or bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now_epoch)
    except (TypeError, ValueError, IndexError):
        return None


def chunks(items: Sequence[T], size: int, group: Callable[[T], str]) -> list[list[T]]:
    """Split into requests of at most ``size``, keeping each parcel's versions together, in order.

    Requests run concurrently; a parcel's versions in one request are applied in order by the
    national database, whereas two requests could overtake each other.
    """
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(group(item), []).append(item)
    out: list[list[T]] = [[]]
    for members in groups.values():
        if out[-1] and len(out[-1]) + len(members) > size:
            out.append([])
        out[-1].extend(members)
    return [c for part in out for c in _split(part, size)]


def _split(items: list[T], size: int) -> list[list[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)] if items else []


@dataclass(frozen=True)
class Synced:
    """The national database holds the plot."""

    national_id: str
    status: str  # created, updated or unchanged
    attempts: int  # requests that carried the plot


@dataclass(frozen=True)
class Refused:
    """A permanent refusal: the plot is dead-lettered as ``sync_rejected``."""

    error: str
    attempts: int


@dataclass(frozen=True)
class Unsent:
    """Transient failures used up this round's attempts: the plot is retried later."""

    error: str
    attempts: int
    failures: int  # failed attempts charged to the plot (an outage's are not)
    retry_after: float | None = None


SendResult = Synced | Refused | Unsent


def plus_attempts(outcome: SendResult, extra: int) -> SendResult:
    """The outcome with ``extra`` earlier requests counted (a batch split after a refusal)."""
    if isinstance(outcome, Unsent):
        return Unsent(
            outcome.error, outcome.attempts + extra, outcome.failures, outcome.retry_after
        )
    if isinstance(outcome, Refused):
        return Refused(outcome.error, outcome.attempts + extra)
    return Synced(outcome.national_id, outcome.status, outcome.attempts + extra)
