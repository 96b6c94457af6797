"""Targets, the window and the daily figures (CONTRACT §6), with the ledger's clock controlled."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from shared.settings import Settings
from tests.conftest import KeyFactory
from tests.support import bearer, eventually, landsync, parcel_key_of, registered_record, submit

_COMMUNE = "08201"


async def _three_cleaned_cases(
    db: asyncpg.Pool[Any], intake: httpx.AsyncClient, new_key: KeyFactory, commune: str
) -> list[str]:
    key = await new_key("submitter", [commune])
    records = [await registered_record(db, commune) for _ in range(3)]
    await submit(intake, key, *records)

    # Synced too: a test that then moves the cases' clocks must not race sync's own stamp.
    async def synced() -> bool:
        n = await db.fetchval(
            "SELECT count(*) FROM cases WHERE commune_code = $1 AND state = 'cleaned'"
            " AND synced_at IS NOT NULL",
            commune,
        )
        return bool(n == len(records))

    await eventually(synced, timeout=90)
    return [parcel_key_of(r) for r in records]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def test_daily_figures_fall_on_the_provinces_calendar_days(
    db: asyncpg.Pool[Any],
    intake: httpx.AsyncClient,
    new_key: KeyFactory,
    settings: Settings,
) -> None:
    parcels = await _three_cleaned_cases(db, intake, new_key, _COMMUNE)
    # Vietnam is UTC+7: 16:59:59 UTC is 23:59:59 on 1 September there, 17:00:00 UTC midnight.
    # The second case is synced after the span asked for: in it, not synced yet. (Its stamp stays
    # set, as its synced record says: the report tests count the whole ledger later.)
    stamps = [
        ("2025-09-01T16:59:59", "2025-09-01T17:00:01", "2025-09-03T02:00:00"),
        ("2025-09-01T17:00:00", "2025-09-02T16:59:59", "2025-09-05T10:00:00"),
        ("2025-09-02T10:00:00", "2025-09-03T16:59:59", "2025-09-03T17:00:00"),
    ]
    for parcel, (received, cleaned, synced) in zip(parcels, stamps, strict=True):
        await db.execute(
            "UPDATE cases SET received_at = $2, cleaned_at = $3, synced_at = $4"
            " WHERE parcel_key = $1",
            parcel,
            _utc(received),
            _utc(cleaned),
            _utc(synced),
        )
    viewer = await new_key("viewer")
    span = {"commune": _COMMUNE, "from": "2025-08-31", "to": "2025-09-04"}
    as_json = await intake.get("/v1/reports/campaign/daily", params=span, headers=bearer(viewer))
    as_csv = await intake.get(
        "/v1/reports/campaign/daily", params=span | {"format": "csv"}, headers=bearer(viewer)
    )
    printed = await asyncio.to_thread(
        landsync, settings, "report", "--daily", "--commune", _COMMUNE,
        "--from", "2025-08-31", "--to", "2025-09-04", "--format", "json",
    )  # fmt: skip

    assert as_json.status_code == 200, as_json.text
    days = {d["date"]: d for d in as_json.json()["days"]}
    assert list(days) == ["2025-08-31", "2025-09-01", "2025-09-02", "2025-09-03", "2025-09-04"]
    figures = {
        day: (d["received"], d["cleaned"], d["synced"], d["received_total"], d["cleaned_total"],
              d["synced_total"])
        for day, d in days.items()
    }  # fmt: skip
    assert figures == {
        "2025-08-31": (0, 0, 0, 0, 0, 0),
        "2025-09-01": (1, 0, 0, 1, 0, 0),
        "2025-09-02": (2, 2, 0, 3, 2, 0),
        "2025-09-03": (0, 1, 1, 3, 3, 1),
        "2025-09-04": (0, 0, 1, 3, 3, 2),
    }
    assert {d["commune_code"] for d in days.values()} == {_COMMUNE}
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["date"], int(r["cleaned_total"])) for r in rows] == [
        (day, f[4]) for day, f in figures.items()
    ]
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout) == as_json.json()


async def test_targets_and_the_window_give_the_target_rate_and_days_left(
    db: asyncpg.Pool[Any],
    intake: httpx.AsyncClient,
    new_key: KeyFactory,
    settings: Settings,
    tmp_path: Path,
) -> None:
    commune = "08202"
    await _three_cleaned_cases(db, intake, new_key, commune)
    targets = tmp_path / "targets.csv"
    targets.write_text(f"commune_code,target_plots\n{commune},4\n{commune},2\nbad,7\n")
    loaded = await asyncio.to_thread(
        landsync, settings, "campaign", "targets", "load", str(targets)
    )
    window = await asyncio.to_thread(
        landsync, settings, "campaign", "window", "--start", "2025-09-01", "--end", "2099-11-30"
    )
    key = await new_key("submitter", [commune])
    body = (await intake.get("/v1/reports/campaign", headers=bearer(key))).json()
    page = await intake.get("/v1/reports/campaign", params={"format": "html"}, headers=bearer(key))

    assert loaded.returncode == 0, loaded.stderr
    assert "line 4" in loaded.stderr  # the bad line, named
    assert window.returncode == 0, window.stderr
    [row] = body["communes"]
    assert (row["cases"], row["target_plots"], row["target_rate"]) == (3, 2, 1.5)  # last line won
    assert row["days_left"] > 365
    assert body["province"]["target_plots"] == 2  # what this key sees
    assert "target 2" in page.text
    assert "deadline 2099-11-30" in page.text


async def test_a_daily_span_of_centuries_is_refused_at_once_not_built(
    intake: httpx.AsyncClient, new_key: KeyFactory
) -> None:
    viewer = bearer(await new_key("viewer"))
    # What the fuzzer once sent: from the first case to the year 8236, millions of days, which
    # kept intake busy past a minute.
    far = await intake.get(
        "/v1/reports/campaign/daily", params={"to": "8236-03-31"}, headers=viewer, timeout=10
    )
    assert far.status_code == 422, far.text
    assert far.json()["error"]["code"] == "invalid_filter"
    assert "at most 3,660 days" in far.json()["error"]["message"]
    decade = {"from": "2025-01-01", "to": "2034-12-31"}  # 3,652 days: still shown
    shown = await intake.get("/v1/reports/campaign/daily", params=decade, headers=viewer)
    assert shown.status_code == 200, shown.text
    assert len(shown.json()["days"]) == 3_652
