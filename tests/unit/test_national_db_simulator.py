"""The national database simulator's rules: upserts, idempotency, faults and its journal."""

from __future__ import annotations

import random
import tracemalloc
from pathlib import Path
from typing import Any

import orjson
import pytest

from services.national_db.faults import Faults
from services.national_db.journal import Journal
from services.national_db.registry import Registry, counted


def _item(parcel: str, version: int = 1, key: str | None = None, **plot: Any) -> dict[str, Any]:
    return {
        "parcel_key": parcel,
        "version": version,
        "idempotency_key": key or f"{parcel}:v{version}",
        "plot": plot or {"area_m2": 96.1},
    }


def _apply(registry: Registry, *items: dict[str, Any]) -> list[str]:
    plan = registry.plan(list(items))
    registry.commit(plan)
    return [r.status for r in plan.results]


def test_a_new_parcel_is_created_and_a_higher_version_updates_it() -> None:
    registry = Registry()
    assert _apply(registry, _item("p1")) == ["created"]
    assert _apply(registry, _item("p1", 2, area_m2=100.0)) == ["updated"]
    assert registry.parcels["p1"].version == 2
    assert registry.parcels["p1"].plot == {"area_m2": 100.0}


def test_an_applied_idempotency_key_returns_its_first_answer_and_changes_nothing() -> None:
    registry = Registry()
    [first] = registry.plan([_item("p1")]).results
    registry.commit(registry.plan([_item("p1")]))
    again = registry.plan([_item("p1", key="p1:v1", area_m2=1.0)])
    registry.commit(again)
    assert again.results == [first]
    assert registry.parcels["p1"].plot == {"area_m2": 96.1}
    assert registry.stats.created == 1
    assert registry.stats.duplicates_suppressed == 1


def test_the_same_version_and_content_under_another_key_is_unchanged() -> None:
    registry = Registry()
    _apply(registry, _item("p1"))
    assert _apply(registry, _item("p1", key="other")) == ["unchanged"]
    assert _apply(registry, _item("p1", key="other2", area_m2=5.0)) == ["invalid"]
    assert registry.stats.unchanged == 1


def test_malformed_items_are_invalid_alone_and_may_be_sent_again_once_fixed() -> None:
    registry = Registry()
    statuses = _apply(registry, _item("p1"), {"parcel_key": "p2"}, _item("p3", version=0))
    assert statuses == ["created", "invalid", "invalid"]
    assert _apply(registry, _item("p3", version=1, key="p3:v0")) == ["created"]


def test_the_journal_brings_back_every_acknowledged_batch_after_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "national-db.jsonl"
    registry, journal = Registry(), Journal(path)
    journal.open(registry)
    for items in ([_item("p1"), _item("p2")], [_item("p1", 2)], [_item("p1", 2)]):
        plan = registry.plan(items)
        journal.append(plan, _after(registry, plan))
        registry.commit(plan)
    journal.close()
    with path.open("ab") as f:
        f.write(b'{"parcels": [["torn')  # a crash while writing an unacknowledged batch

    restored = Registry()
    Journal(path).open(restored)
    assert restored.parcels == registry.parcels
    assert restored.stats == registry.stats
    assert restored.plan([_item("p2")]).duplicates == 1


def _after(registry: Registry, plan: Any) -> Any:
    return counted(registry.stats, plan)


def test_faults_follow_the_posted_configuration() -> None:
    faults = Faults().updated({"outage_s": 20, "reject_parcels": ["p9"]}, now=0.0)
    rng = random.Random(1)
    assert faults.draw(19.9, rng) == "outage"
    assert faults.draw(20.0, rng) is None
    always = faults.updated({"rate_limit_rate": 1, "retry_after_s": 1.5}, now=0.0)
    assert always.draw(30, rng) == "rate_limited"
    assert always.retry_after_header() == "2"
    assert always.reject_parcels == {"p9"}
    assert faults.updated({"reset": True}, now=0.0) == Faults()
    assert faults.updated({}, now=0.0) == faults


def test_a_fault_rate_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        Faults().updated({"error_rate": 2}, now=0.0)


def test_a_stored_parcel_costs_about_its_plots_size_in_memory() -> None:
    # A province is 700,000 parcels: at 4.7 KB each (orjson's over-sized output buffers, kept)
    # the simulator needed 3 GB. It must hold one for little more than the plots' own size.
    owner = {"full_name": "Nguyễn Văn An", "address": "Thôn Đồng Lạc " * 40}
    size = len(orjson.dumps({"owners": [owner]}))
    registry = Registry()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(2000):
            _apply(registry, _item(f"07339:1:{n}", owners=[owner]))
        per_parcel = (tracemalloc.get_traced_memory()[0] - before) / 2000
    finally:
        tracemalloc.stop()

    assert per_parcel < size + 700, f"{per_parcel:.0f} bytes a parcel for a {size}-byte plot"
