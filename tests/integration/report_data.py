"""For the report tests: records of every outcome in two communes; the ledger counted by hand."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from shared.states import reasons_sql, status_sql
from tests.conftest import KeyFactory
from tests.support import eventually, fresh_owner, make_record, register

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
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    dead_lettered_by_reason: Counter[str] = field(default_factory=Counter)

    def add(self, status: str, sync_state: str | None, reasons: list[dict[str, Any]]) -> None:
        self.received += 1
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


async def ledger_counts(db: asyncpg.Pool[Any]) -> dict[str | None, Counts]:
    """Per commune, and the province under None, straight from the ``records`` table."""
    counts: dict[str | None, Counts] = {None: Counts()}
    query = f"SELECT commune_code, {status_sql()} AS status, sync_state, {reasons_sql()} AS reasons"
    for r in await db.fetch(f"{query} FROM records"):
        for where in (r["commune_code"], None):
            counts.setdefault(where, Counts()).add(r["status"], r["sync_state"], r["reasons"])
    return counts


async def _commune_mix(db: asyncpg.Pool[Any], commune: str, clean: int) -> list[dict[str, Any]]:
    """``clean`` good records, then a bad scan, an unknown owner, a mortgage, and a duplicate."""
    good = [fresh_owner(make_record(commune)) for _ in range(clean)]
    bad_scan, stranger, mortgaged = (fresh_owner(make_record(commune)) for _ in range(3))
    await register(db, *good, bad_scan, stranger, mortgaged)
    bad_scan["scan_file"] = "IMG_0042.pdf"
    await db.execute(
        "DELETE FROM residents WHERE personal_id = $1", stranger["owners"][0]["personal_id"]
    )
    await db.execute(
        "UPDATE certificates SET mortgage_registered_on = '2021-01-01', mortgage_bank = 'Agribank'"
        " WHERE (commune_code, map_sheet, parcel_no) = ($1, $2, $3)",
        commune,
        mortgaged["parcel"]["map_sheet"],
        mortgaged["parcel"]["parcel_no"],
    )
    again = {**good[0], "submission_id": f"{good[0]['submission_id']}-again"}
    return [*good, bad_scan, stranger, mortgaged, again]


async def submit_campaign(
    db: asyncpg.Pool[Any], intake: httpx.AsyncClient, new_key: KeyFactory
) -> list[str]:
    """Submit the mix for each of COMMUNES and wait until each record is decided and settled."""
    ids: list[str] = []
    for n, commune in enumerate(COMMUNES):
        key = await new_key("submitter", [commune])
        posted = await intake.post(
            "/v1/records",
            json=await _commune_mix(db, commune, clean=3 + 2 * n),
            headers={"Authorization": f"Bearer {key}"},
        )
        assert posted.status_code == 202, posted.text
        ids += [r["record_id"] for r in posted.json()["results"]]

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
