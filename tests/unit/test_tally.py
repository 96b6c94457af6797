"""The report's groups of records and cases add up to the figures of CONTRACT §6."""

from __future__ import annotations

from typing import Any

from shared import tally


def _group(commune: str, decision: str, sync_state: str | None, n: int, **extra: Any) -> Any:
    return {
        "commune_code": commune, "decision": decision, "sync_state": sync_state,
        "correction": extra.get("correction", False), "codes": extra.get("codes"), "n": n,
    }  # fmt: skip


def test_records_groups_give_each_communes_figures_and_the_provinces() -> None:
    figures = tally.submissions([
        _group("07210", "accepted", "synced", 5),
        _group("07210", "accepted", "pending", 2, correction=True),
        _group("07210", "accepted", "failed", 1, codes=["sync_rejected"]),
        _group("07210", "rejected", None, 3, codes=["incomplete", "scan_name_mismatch"]),
        _group("07339", "dead_lettered", None, 4, codes=["mortgaged"]),
        _group("07339", "duplicate", None, 1),
        _group("07339", "received", None, 6),
    ])  # fmt: skip
    mine = figures["07210"]
    assert (mine.received, mine.accepted, mine.synced, mine.corrections) == (11, 8, 5, 2)
    assert (mine.rejected, mine.dead_lettered, mine.decided) == (3, 1, 11)  # refused by sync
    assert mine.rejected_by_reason == {"incomplete": 3, "scan_name_mismatch": 3}
    assert mine.dead_lettered_by_reason == {"sync_rejected": 1}
    province = figures[None]
    assert (province.received, province.decided, province.duplicates) == (22, 16, 1)
    assert province.dead_lettered_by_reason == {"sync_rejected": 1, "mortgaged": 4}
    assert province.figures()["rejected_by_reason"] == {"incomplete": 3, "scan_name_mismatch": 3}


def test_case_groups_leave_out_corrected_cases_and_count_open_ones_by_reason() -> None:
    def group(state: str, n: int, *, synced: bool = False, codes: Any = None) -> Any:
        return {"commune_code": "07210", "state": state, "synced": synced, "codes": codes, "n": n}

    figures = tally.cases([
        group("cleaned", 7, synced=True), group("cleaned", 3),
        group("open", 2, codes=["mortgaged"]), group("pending", 1), group("corrected", 4),
    ])  # fmt: skip
    for where in ("07210", None):
        mine = figures[where]
        assert (mine.cases, mine.cases_cleaned, mine.cases_synced) == (13, 10, 7)
        assert (mine.cases_open, mine.cases_pending, mine.open_by_reason) == (
            2,
            1,
            {"mortgaged": 2},
        )


def test_no_rows_still_give_a_province_of_zeros() -> None:
    assert tally.submissions([])[None].received == 0
    assert tally.cases([])[None].cases == 0
