"""The simulator's parcel store as pure logic: plan a batch upsert, then commit the plan.

Planning never mutates, so the app can make a plan durable (journal) before it becomes visible:
what a 200 acknowledged is exactly what survives a restart.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import orjson

Status = Literal["created", "updated", "unchanged", "invalid"]


@dataclass(frozen=True, slots=True)  # one per parcel: hundreds of thousands
class Parcel:
    """A parcel as the national database holds it."""

    parcel_key: str
    national_id: str
    version: int
    content_hash: str
    plot_json: bytes  # kept serialised: a third of the memory of the parsed plot

    @property
    def plot(self) -> Any:  # noqa: ANN401 - a JSON value
        """The plot as last written."""
        return orjson.loads(self.plot_json)


@dataclass(frozen=True, slots=True)  # one per idempotency key
class Result:
    """One item's answer; ``error`` is set only for ``invalid``."""

    parcel_key: str
    status: Status
    national_id: str | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The CONTRACT §7 result object."""
        return {
            "parcel_key": self.parcel_key,
            "status": self.status,
            "national_id": self.national_id,
            "error": self.error,
        }


@dataclass
class Stats:
    """The counters of ``GET /v1/_stats``."""

    requests: int = 0
    items: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    duplicates_suppressed: int = 0
    refused: int = 0  # items of requests answered 422 (reject_parcels)
    rate_limited: int = 0  # requests answered 429
    unavailable: int = 0  # requests answered 503 (injected errors and outages)
    early_retries: int = 0  # items re-sent before the Retry-After they were given had passed


@dataclass
class Plan:
    """What a batch would change: the answers, the parcels written and the keys remembered."""

    results: list[Result] = field(default_factory=list)
    parcels: dict[str, Parcel] = field(default_factory=dict)
    keys: dict[str, Result] = field(default_factory=dict)
    duplicates: int = 0
    fresh: Counter[str] = field(default_factory=Counter)  # statuses of the non-duplicate answers


def pack(plot: Any) -> tuple[str, bytes]:  # noqa: ANN401 - a JSON value
    """A digest of a plot's content, independent of key order, and the plot serialised."""
    data = orjson.dumps(plot, option=orjson.OPT_SORT_KEYS)
    # orjson's bytes keep the capacity of its output buffer (8 KB for a 1 KB plot); a copy the
    # size of the content made the simulator hold a province in 0.9 GB instead of 3 GB.
    return hashlib.sha256(data).hexdigest(), bytes(memoryview(data))


def _invalid(item: Any) -> str | None:  # noqa: ANN401 - a JSON value
    if not isinstance(item, dict):
        return "an item must be an object"
    if not isinstance(item.get("parcel_key"), str) or not item["parcel_key"]:
        return "parcel_key is required"
    if not isinstance(item.get("idempotency_key"), str) or not item["idempotency_key"]:
        return "idempotency_key is required"
    version = item.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return "version must be an integer >= 1"
    if not isinstance(item.get("plot"), dict):
        return "plot must be an object"
    return None


class Registry:
    """Parcels by key, answers by idempotency key, and the counters."""

    def __init__(self) -> None:
        self.parcels: dict[str, Parcel] = {}
        self.keys: dict[str, Result] = {}
        self.stats = Stats()

    def plan(self, items: list[Any]) -> Plan:
        """Answer every item in order, as if the earlier items of the batch were applied."""
        plan = Plan()
        for item in items:
            plan.results.append(self._plan_item(item, plan))
        return plan

    def _plan_item(self, item: Any, plan: Plan) -> Result:  # noqa: ANN401 - a JSON value
        error = _invalid(item)
        key = item.get("parcel_key") if isinstance(item, dict) else None
        parcel_key = key if isinstance(key, str) else ""
        if error is not None:
            plan.fresh["invalid"] += 1
            return Result(parcel_key, "invalid", error=error)
        first = plan.keys.get(item["idempotency_key"]) or self.keys.get(item["idempotency_key"])
        if first is not None:
            plan.duplicates += 1
            return first
        current = plan.parcels.get(parcel_key) or self.parcels.get(parcel_key)
        result = self._upsert(current, item, plan)
        plan.fresh[result.status] += 1
        if result.status != "invalid":  # nothing was applied: a corrected retry must get through
            plan.keys[item["idempotency_key"]] = result
        return result

    def _upsert(self, current: Parcel | None, item: dict[str, Any], plan: Plan) -> Result:
        parcel_key, version = item["parcel_key"], item["version"]
        digest, packed = pack(item["plot"])
        if current is None:
            national_id = f"VN-{len(self.parcels) + plan.fresh['created'] + 1:010d}"
            plan.parcels[parcel_key] = Parcel(parcel_key, national_id, version, digest, packed)
            return Result(parcel_key, "created", national_id)
        if version < current.version or (
            version == current.version and digest == current.content_hash
        ):
            # A replay or a late older version: the parcel already holds this or something newer.
            return Result(parcel_key, "unchanged", current.national_id)
        if version == current.version:
            return Result(
                parcel_key, "invalid", error=f"version {version} exists with other content"
            )
        plan.parcels[parcel_key] = Parcel(parcel_key, current.national_id, version, digest, packed)
        return Result(parcel_key, "updated", current.national_id)

    def commit(self, plan: Plan) -> None:
        """Make a plan's changes visible and count them."""
        self.parcels.update(plan.parcels)
        self.keys.update(plan.keys)
        self.stats = counted(self.stats, plan)


def counted(stats: Stats, plan: Plan) -> Stats:
    """The counters once ``plan`` is applied; a suppressed duplicate counts only as such."""
    return replace(
        stats,
        items=stats.items + len(plan.results),
        duplicates_suppressed=stats.duplicates_suppressed + plan.duplicates,
        created=stats.created + plan.fresh["created"],
        updated=stats.updated + plan.fresh["updated"],
        unchanged=stats.unchanged + plan.fresh["unchanged"],
        invalid=stats.invalid + plan.fresh["invalid"],
    )
