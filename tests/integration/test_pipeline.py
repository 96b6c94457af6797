"""A generated commune through the real pipeline: every decision equals the truth file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from shared.reasons import OWNER
from shared.settings import Settings
from shared.topics import Topic
from tests.conftest import KeyFactory
from tests.generated import read_jsonl
from tests.support import (
    carrying,
    eventually,
    generated_commune,
    landsync,
    landsync_ok,
    post_ndjson,
)


async def _submit_and_wait(
    intake: httpx.AsyncClient, db: asyncpg.Pool[Any], new_key: KeyFactory, path: Path
) -> dict[str, asyncpg.Record]:
    """Submit a generated records file, with a key for its communes; the ledger once decided."""
    records = read_jsonl(path)
    key = await new_key("submitter", sorted({r["commune_code"] for r in records}))
    body = await asyncio.to_thread(path.read_bytes)
    response = await post_ndjson(intake, key, body)
    assert response.status_code == 202, response.text[:500]
    assert response.json()["errors"] == []
    ids = [r["submission_id"] for r in records]

    async def decided() -> dict[str, asyncpg.Record] | None:
        rows = await db.fetch(
            "SELECT submission_id, record_id::text AS record_id, commune_code,"
            " decision AS status, reasons, warnings"
            " FROM records WHERE submission_id = ANY($1::text[]) AND decision <> 'received'"
            " AND published_at IS NOT NULL",
            ids,
        )
        return {r["submission_id"]: r for r in rows} if len(rows) == len(ids) else None

    found: dict[str, asyncpg.Record] = await eventually(decided, timeout=180, interval=0.5)
    return found


def _as_truth(row: asyncpg.Record) -> tuple[str, list[str], list[str]]:
    # The ledger's decision is reconcile's alone: sync's progress does not change it.
    reasons = sorted(r["code"] for r in row["reasons"])
    return row["status"], reasons, sorted(w["code"] for w in row["warnings"])


def _mismatches(truth: list[dict[str, Any]], ledger: dict[str, asyncpg.Record]) -> list[str]:
    wrong = []
    for t in truth:
        expected = (t["outcome"], sorted(t["reasons"]), sorted(t["warnings"]))
        actual = _as_truth(ledger[t["submission_id"]])
        if expected != actual:
            wrong.append(
                f"{t['submission_id']}: expected {expected}, got {actual} ({t['injected']})"
            )
    return wrong


async def _decided_as_truth(
    intake: httpx.AsyncClient, db: asyncpg.Pool[Any], new_key: KeyFactory, commune: Path, part: str
) -> tuple[list[dict[str, Any]], dict[str, asyncpg.Record]]:
    """Submit ``records<part>.jsonl`` of the commune; its truth and ledger, once they agree."""
    truth = read_jsonl(commune / f"truth{part}.jsonl")
    ledger = await _submit_and_wait(intake, db, new_key, commune / f"records{part}.jsonl")
    assert _mismatches(truth, ledger) == []
    return truth, ledger


def _queue_is_owner(row: asyncpg.Record) -> bool | None:
    """True for the owner-unresolved queue, False for mortgaged, None for neither."""
    codes = {x["code"] for x in row["reasons"]}
    if codes & OWNER:
        return True
    return False if "mortgaged" in codes else None


@pytest.fixture(scope="module")
def commune(tmp_path_factory: pytest.TempPathFactory, settings: Settings, stack: Any) -> Path:
    return generated_commune(settings, tmp_path_factory.mktemp("province"), "800", "5")


async def test_every_decision_of_a_generated_commune_equals_its_truth_file(
    commune: Path,
    intake: httpx.AsyncClient,
    db: asyncpg.Pool[Any],
    settings: Settings,
    new_key: KeyFactory,
) -> None:
    truth, ledger = await _decided_as_truth(intake, db, new_key, commune, "")

    outcomes = {t["outcome"] for t in truth}
    assert {"accepted", "rejected", "dead_lettered", "duplicate"} <= outcomes, "a varied commune"
    by_id = {r["record_id"]: r for r in ledger.values()}
    for topic, owner_queue in ((Topic.DLQ_OWNER_UNRESOLVED, True), (Topic.DLQ_MORTGAGED, False)):
        letters = await carrying(settings, topic, by_id)
        expected = {
            r["record_id"]
            for r in ledger.values()
            if r["status"] == "dead_lettered" and _queue_is_owner(r) is owner_queue
        }
        headers = [{k: v.decode() for k, v in m.headers} for m in letters]
        assert sorted(h["record.id"] for h in headers) == sorted(expected)
        for h in headers:
            row = by_id[h["record.id"]]
            assert h["dlq.reason"] in {x["code"] for x in row["reasons"]}
            assert h["dlq.original.topic"] == settings.topics.name(Topic.SUBMITTED)
            assert h["dlq.consumer.group"] == "landsync-reconcile"
            assert h["commune.code"] == row["commune_code"]


async def test_the_second_phase_accepts_updates_under_replacement_certificates(
    commune: Path,
    intake: httpx.AsyncClient,
    db: asyncpg.Pool[Any],
    settings: Settings,
    new_key: KeyFactory,
) -> None:
    landsync_ok(
        settings, "registry", "load", "certificates", str(commune / "certificates.phase2.csv")
    )

    truth, _ = await _decided_as_truth(intake, db, new_key, commune, ".phase2")

    assert any("supersedes_previous" in t["warnings"] for t in truth)


async def test_the_communes_corrections_clean_their_cases_as_the_truth_says(
    commune: Path,
    intake: httpx.AsyncClient,
    db: asyncpg.Pool[Any],
    settings: Settings,
    new_key: KeyFactory,
    tmp_path: Path,
) -> None:
    records = read_jsonl(commune / "records.corrections.jsonl")

    truth, _ = await _decided_as_truth(intake, db, new_key, commune, ".corrections")
    both = tmp_path / "truth.both.jsonl"
    both.write_bytes(
        (commune / "truth.jsonl").read_bytes() + (commune / "truth.corrections.jsonl").read_bytes()
    )
    scored = landsync(settings, "evaluate", "--truth", str(both), "--json")

    assert truth, "the generator wrote corrections"
    assert any(r.get("corrects") for r in records), "a fixed parcel number names what it fixes"
    assert scored.returncode == 0, scored.stderr
    cases = orjson.loads(scored.stdout)["cases"]
    assert cases["case_clean_rate"] == cases["expected_case_clean_rate"]
    assert cases["agree"] == cases["cases"]
    assert cases["cleaned"] > cases["cases"] * 0.9
