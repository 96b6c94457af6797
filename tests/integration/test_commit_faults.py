"""A 202 is never a lie, and a refusal never hides a stored batch: PostgreSQL's connection is cut
at each moment of intake's COMMIT (a proxy that reads the wire protocol), not left to timing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from shared.settings import Settings
from shared.stack.services import child_env, wait_ready
from tests.integration.pg_proxy import CommitCutter, Moment
from tests.support import COMMUNE, bearer, make_record, start_service


@pytest.fixture(scope="module")
async def cutter(settings: Settings) -> AsyncIterator[CommitCutter]:
    async with CommitCutter(settings.postgres_port, "landsync-intake") as proxy:
        yield proxy


@pytest.fixture(scope="module")
async def proxied_intake(
    settings: Settings, cutter: CommitCutter, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    """A second intake whose database connections go through the proxy."""
    state = tmp_path_factory.mktemp("proxied-intake")
    port = settings.intake_port + 7
    env = child_env(settings, "intake") | {
        "LANDSYNC_DATABASE_URL": settings.dsn.replace(
            f":{settings.postgres_port}/", f":{cutter.port}/"
        ),
        "LANDSYNC_INTAKE_PORT": str(port),
        "LANDSYNC_STATE_DIR": str(state),
    }
    log = state / "intake.log"
    child = start_service("intake", env, log)
    try:
        # On a thread: the proxy that intake's readiness check goes through runs on this loop.
        await asyncio.to_thread(wait_ready, f"http://127.0.0.1:{port}/readyz", child.pid, log)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        child.terminate()
        # Not child.wait(): the proxy runs on this loop, and intake's shutdown goes through it.
        await asyncio.to_thread(child.wait, 60)


async def _stored(db: asyncpg.Pool[Any], submission_id: str) -> uuid.UUID | None:
    found: uuid.UUID | None = await db.fetchval(
        "SELECT record_id FROM records WHERE commune_code = $1 AND submission_id = $2",
        COMMUNE,
        submission_id,
    )
    return found


async def _post(
    client: httpx.AsyncClient, records: list[dict[str, Any]], key: str
) -> httpx.Response:
    return await client.post("/v1/records", json=records, headers=bearer(key))


async def _taken(
    client: httpx.AsyncClient, records: list[dict[str, Any]], key: str
) -> list[dict[str, Any]]:
    """Post the records, which intake must answer with a 202; the answer's results."""
    answer = await _post(client, records, key)
    assert answer.status_code == 202, answer.text
    results: list[dict[str, Any]] = answer.json()["results"]
    return results


async def _post_cut_at(
    moment: Moment,
    cutter: CommitCutter,
    client: httpx.AsyncClient,
    records: list[dict[str, Any]],
    key: str,
) -> httpx.Response:
    """Post the records with the proxy armed to cut the connection at ``moment``; the answer."""
    cutter.arm(moment)
    answer = await _post(client, records, key)
    assert cutter.cut.is_set(), f"the proxy cut the connection at {moment}"
    return answer


def _assert_told_to_retry(answer: httpx.Response) -> None:
    """A 503 that says when to try again."""
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"]


async def test_a_commit_acknowledged_is_a_202_whatever_happens_to_the_connection(
    db: asyncpg.Pool[Any], proxied_intake: httpx.AsyncClient, cutter: CommitCutter, key: str
) -> None:
    earlier = make_record(COMMUNE)
    await _taken(proxied_intake, [earlier], key)
    fresh = make_record(COMMUNE)

    # With a resubmitted record in the batch, intake has to look the earlier one up too.
    answer = await _post_cut_at(Moment.AFTER_COMMIT, cutter, proxied_intake, [fresh, earlier], key)

    assert answer.status_code == 202, answer.text
    statuses = [r["status"] for r in answer.json()["results"]]
    assert statuses == ["received", "duplicate_submission"]
    assert await _stored(db, fresh["submission_id"]) == uuid.UUID(
        answer.json()["results"][0]["record_id"]
    )
    # and the connection's loss costs nothing after: the next batch is taken as usual
    await _taken(proxied_intake, [make_record(COMMUNE)], key)


async def test_a_commit_never_acknowledged_is_a_503_and_the_retry_finds_the_records(
    db: asyncpg.Pool[Any], proxied_intake: httpx.AsyncClient, cutter: CommitCutter, key: str
) -> None:
    record = make_record(COMMUNE)

    answer = await _post_cut_at(Moment.COMMIT_UNACKED, cutter, proxied_intake, [record], key)

    _assert_told_to_retry(answer)
    assert answer.json()["error"]["code"] == "unavailable"
    stored = await _stored(db, record["submission_id"])
    assert stored is not None, "the server committed it: it is in the ledger"
    assert await _taken(proxied_intake, [record], key) == [
        {"index": 0, "record_id": str(stored), "status": "duplicate_submission"}
    ]


async def test_a_batch_cut_before_its_commit_is_a_503_and_nothing_is_stored(
    db: asyncpg.Pool[Any], proxied_intake: httpx.AsyncClient, cutter: CommitCutter, key: str
) -> None:
    record = make_record(COMMUNE)

    answer = await _post_cut_at(Moment.BEFORE_COMMIT, cutter, proxied_intake, [record], key)

    _assert_told_to_retry(answer)
    await asyncio.sleep(0.5)  # the server rolls the transaction back when the socket closes
    assert await _stored(db, record["submission_id"]) is None
    assert [r["status"] for r in await _taken(proxied_intake, [record], key)] == ["received"]
