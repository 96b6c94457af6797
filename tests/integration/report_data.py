"""For the report tests: records of every outcome in two communes; the ledger counted by hand."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from shared.states import reasons_sql, status_sql
from tests.conftest import KeyFactory
from tests.support import (
    eventually,
    forget_owner,
    fresh_owner,
    make_record,
    mortgage,
    register,
    submit,
)

COMMUNES = ("07210", "07339")  # Bắc Giang, Tân Yên


@dataclass
class Counts:
    """One commune's (or the province's) figures, counted record by record in Python."""

    received: int = 0
    decided: int = 0
    accepted: int = 0
    synced: int = 0
    rejected: int = 0
    dead_lettered: int = 0
    duplicates: int = 0
    corrections: int = 0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    dead_lettered_by_reason: Counter[str] = field(default_factory=Counter)
    # cases, counted from the records of each parcel (see ``_count_cases``)
    cases: int = 0
    cases_cleaned: int = 0
    cases_synced: int = 0
    cases_open: int = 0
    open_by_reason: Counter[str] = field(default_factory=Counter)
    target_plots: int | None = None

    def add(
        self, status: str, sync_state: str | None, reasons: list[dict[str, Any]], *,
        correction: bool = False,
    ) -> None:  # fmt: skip
        self.received += 1
        self.corrections += correction
        self.decided += status != "received"
        # accepted by reconciliation: synced since, waiting for sync, or refused by the national DB
        self.accepted += status in {"accepted", "synced"} or (
            status == "dead_lettered" and sync_state == "failed"
        )
        self.synced += status == "synced"
        self.rejected += status == "rejected"
        self.dead_lettered += status == "dead_lettered"
        self.duplicates += status == "duplicate"
        if status == "rejected":
            self.rejected_by_reason.update(r["code"] for r in reasons)
        if status == "dead_lettered":
            self.dead_lettered_by_reason.update(r["code"] for r in reasons)

    @property
    def numbers(self) -> tuple[int, ...]:
        """In the order of the report's columns."""
        return (
            self.received,
            self.decided,
            self.accepted,
            self.synced,
            self.rejected,
            self.dead_lettered,
            self.duplicates,
        )


_LEDGER = f"""
SELECT record_id, commune_code, parcel_key, decision, {status_sql()} AS status, sync_state,
       {reasons_sql()} AS reasons, reasons AS own_reasons, decided_at, corrects_record_id
FROM records ORDER BY decided_at NULLS FIRST, record_id
"""


async def ledger_counts(db: asyncpg.Pool[Any]) -> dict[str | None, Counts]:
    """Per commune, and the province under None, straight from ``records`` (and targets)."""
    counts: dict[str | None, Counts] = {None: Counts()}
    async with db.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        records = await conn.fetch(_LEDGER)
        targets = await conn.fetch("SELECT commune_code, target_plots FROM campaign_targets")
    for r in records:
        for where in (r["commune_code"], None):
            counts.setdefault(where, Counts()).add(
                r["status"], r["sync_state"], r["reasons"],
                correction=r["corrects_record_id"] is not None,
            )  # fmt: skip
    _count_cases(records, counts)
    for t in targets:
        for where in (t["commune_code"], None):
            mine = counts.setdefault(where, Counts())
            mine.target_plots = (mine.target_plots or 0) + t["target_plots"]
    return counts


def _count_cases(records: list[Any], counts: dict[str | None, Counts]) -> None:
    """CONTRACT §6 by hand: a parcel is cleaned once accepted, open while its latest decided
    record failed, and no case at all once a ``corrects`` record of another parcel closed it."""
    by_parcel: dict[str, list[Any]] = {}
    by_id = {r["record_id"]: r for r in records}
    for r in records:
        by_parcel.setdefault(r["parcel_key"], []).append(r)
    closed_at: dict[str, Any] = {}
    for r in records:
        old = by_id.get(r["corrects_record_id"])
        # (an undecided correction has closed nothing yet: reconcile closes it on deciding)
        if old is not None and old["parcel_key"] != r["parcel_key"] and r["decided_at"]:
            closed_at[old["parcel_key"]] = r["decided_at"]
    for parcel, rs in by_parcel.items():
        decided = [r for r in rs if r["decision"] != "received"]
        cleaned = any(r["decision"] in {"accepted", "duplicate"} for r in decided)
        if not cleaned and parcel in closed_at and decided[-1]["decided_at"] <= closed_at[parcel]:
            continue  # closed as corrected
        failed = bool(decided) and decided[-1]["decision"] in {"rejected", "dead_lettered"}
        for where in (rs[0]["commune_code"], None):
            mine = counts.setdefault(where, Counts())
            mine.cases += 1
            mine.cases_cleaned += cleaned
            mine.cases_synced += cleaned and any(r["sync_state"] == "synced" for r in rs)
            if failed and not cleaned:
                mine.cases_open += 1
                mine.open_by_reason.update(x["code"] for x in decided[-1]["own_reasons"])


async def _commune_mix(db: asyncpg.Pool[Any], commune: str, clean: int) -> list[dict[str, Any]]:
    """``clean`` good records, then a bad scan, an unknown owner, a mortgage, and a duplicate."""
    good = [fresh_owner(make_record(commune)) for _ in range(clean)]
    bad_scan, stranger, mortgaged = (fresh_owner(make_record(commune)) for _ in range(3))
    await register(db, *good, bad_scan, stranger, mortgaged)
    bad_scan["scan_file"] = "IMG_0042.pdf"
    await forget_owner(db, stranger)
    await mortgage(db, mortgaged)
    again = {**good[0], "submission_id": f"{good[0]['submission_id']}-again"}
    return [*good, bad_scan, stranger, mortgaged, again]


async def submit_campaign(
    db: asyncpg.Pool[Any], intake: httpx.AsyncClient, new_key: KeyFactory
) -> list[str]:
    """Submit the mix for each of COMMUNES and wait until each record is decided and settled."""
    ids: list[str] = []
    for n, commune in enumerate(COMMUNES):
        key = await new_key("submitter", [commune])
        ids += await submit(intake, key, *await _commune_mix(db, commune, clean=3 + 2 * n))

    async def settled() -> bool:
        # decided, and no accepted plot still on its way to the national database
        waiting = await db.fetchval(
            "SELECT count(*) FROM records WHERE record_id = ANY($1::uuid[])"
            " AND (decision = 'received' OR (decision = 'accepted'"
            " AND sync_state IS DISTINCT FROM 'synced' AND sync_state IS DISTINCT FROM 'failed'))",
            ids,
        )
        return bool(waiting == 0)

    await eventually(settled, timeout=90)
    return ids
