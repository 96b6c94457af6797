"""Injected faults as pure logic: which fault, if any, a request meets at a given moment."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from typing import Any, Literal

FaultKind = Literal["outage", "rate_limited", "error"]
_FIELDS = ("error_rate", "rate_limit_rate", "retry_after_s", "latency_ms")


@dataclass(frozen=True)
class Faults:
    """The fault configuration; ``outage_until`` is a monotonic-clock deadline."""

    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after_s: float = 1.0
    latency_ms: float = 0.0
    outage_until: float = 0.0
    reject_parcels: frozenset[str] = field(default_factory=frozenset)
    fail_parcels: frozenset[str] = field(default_factory=frozenset)  # 503 for any batch holding one

    def updated(self, body: dict[str, Any], now: float) -> Faults:
        """The configuration after a ``POST /v1/_faults`` body (CONTRACT §7); omitted = unchanged.

        Raises ``ValueError`` on a field of the wrong type or range.
        """
        base = Faults() if body.get("reset") else self
        changes: dict[str, Any] = {}
        for name in _FIELDS:
            if body.get(name) is not None:
                changes[name] = _number(body[name], name)
        for rate in ("error_rate", "rate_limit_rate"):
            if not 0 <= changes.get(rate, 0) <= 1:
                raise ValueError(f"{rate} must be between 0 and 1")
        if body.get("outage_s") is not None:
            changes["outage_until"] = now + _number(body["outage_s"], "outage_s")
        for name in ("reject_parcels", "fail_parcels"):
            if body.get(name) is not None:
                parcels = body[name]
                if not isinstance(parcels, list) or not all(isinstance(p, str) for p in parcels):
                    raise ValueError(f"{name} must be a list of parcel keys")
                changes[name] = frozenset(parcels)
        return replace(base, **changes)

    def as_json(self, now: float) -> dict[str, Any]:
        """The configuration as the API shows it (outage as seconds left)."""
        return {
            "error_rate": self.error_rate,
            "rate_limit_rate": self.rate_limit_rate,
            "retry_after_s": self.retry_after_s,
            "latency_ms": self.latency_ms,
            "outage_s": max(0.0, self.outage_until - now),
            "reject_parcels": sorted(self.reject_parcels),
            "fail_parcels": sorted(self.fail_parcels),
        }

    def retry_after_header(self) -> str:
        """``Retry-After`` in whole seconds, as HTTP wants it (rounded up, never early)."""
        return str(math.ceil(self.retry_after_s))

    def draw(
        self, now: float, rng: random.Random, parcels: frozenset[str] = frozenset()
    ) -> FaultKind | None:
        """The fault a request meets now: an outage first, then a rate limit, then an error."""
        if now < self.outage_until:
            return "outage"
        if parcels & self.fail_parcels:
            return "error"
        if self.rate_limit_rate and rng.random() < self.rate_limit_rate:
            return "rate_limited"
        if self.error_rate and rng.random() < self.error_rate:
            return "error"
        return None


def _number(value: Any, name: str) -> float:  # noqa: ANN401 - a JSON value
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a non-negative number")
    return float(value)
