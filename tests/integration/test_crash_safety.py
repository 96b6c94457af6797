"""A record answered 202 reaches Kafka even if the broker is down or intake is killed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from services.intake.relay_process import RELAY_NAME
from shared.settings import Settings
from shared.stack import Stack
from shared.stack.processes import descendants, live_pid
from shared.topics import Topic
from tests.support import COMMUNE, bearer, eventually, make_record, read_topic, record_id_of, submit


async def _all_published(settings: Settings, record_ids: set[str]) -> set[str]:
    def seen(messages: list[Any]) -> set[str]:
        return {record_id_of(m) for m in messages} & record_ids

    messages = await read_topic(
        settings.bootstrap,
        settings.topics.name(Topic.SUBMITTED),
        until=lambda ms: seen(ms) == record_ids,
        timeout=120,
    )
    return seen(messages)


async def _post(intake: httpx.AsyncClient, key: str, n: int) -> set[str]:
    """``n`` fresh records submitted as one batch: their record ids."""
    return set(await submit(intake, key, *(make_record(COMMUNE) for _ in range(n))))


@contextlib.contextmanager
def _kafka_stopped(stack: Stack) -> Iterator[None]:
    """Kafka down for the block; up again after it, whatever the block did."""
    stack.stop_kafka()
    try:
        yield
    finally:
        stack.start_kafka()


async def test_records_received_while_kafka_is_stopped_are_published_when_it_is_back(
    stack: Stack, intake: httpx.AsyncClient, settings: Settings, key: str
) -> None:
    with _kafka_stopped(stack):
        ids = await _post(intake, key, 40)
        not_ready = await intake.get("/readyz")

    assert not_ready.status_code == 503
    assert not_ready.json()["checks"]["broker"] is False
    assert await _all_published(settings, ids) == ids


async def test_records_survive_intake_being_killed_before_it_could_publish(
    stack: Stack, intake: httpx.AsyncClient, settings: Settings, key: str
) -> None:
    try:
        with _kafka_stopped(stack):
            ids = await _post(intake, key, 40)
            stack.kill_service("intake")  # SIGKILL: the records are only in the ledger and outbox
    finally:
        stack.start_service("intake")

    assert await _all_published(settings, ids) == ids


async def test_every_record_answered_202_survives_a_sigkill_under_load(
    stack: Stack, intake: httpx.AsyncClient, settings: Settings, key: str
) -> None:
    acknowledged: set[str] = set()

    async def submit_until_refused() -> None:
        with contextlib.suppress(httpx.HTTPError):
            while True:
                acknowledged.update(await _post(intake, key, 200))

    writers = [asyncio.create_task(submit_until_refused()) for _ in range(3)]
    await asyncio.sleep(2.0)
    try:
        stack.kill_service("intake")
        await asyncio.wait_for(asyncio.gather(*writers), timeout=60)
    finally:
        stack.start_service("intake")

    assert len(acknowledged) >= 200, "the load should have been running when intake was killed"
    assert await _all_published(settings, acknowledged) == acknowledged


async def test_intake_answers_503_while_the_database_is_down_and_recovers_after(
    stack: Stack, intake: httpx.AsyncClient, key: str
) -> None:
    headers = bearer(key)  # verified now, so it is cached during the outage
    assert (
        await intake.post("/v1/records", json=make_record(COMMUNE), headers=headers)
    ).status_code == 202
    stack.stop_postgres()
    try:
        during = await intake.post("/v1/records", json=make_record(COMMUNE), headers=headers)
    finally:
        stack.start_postgres()

    assert during.status_code == 503
    assert during.json()["error"]["code"] == "unavailable"
    after = await intake.post("/v1/records", json=make_record(COMMUNE), headers=headers)
    assert after.status_code == 202


async def _relay_pid(stack: Stack) -> int:
    """Intake's relay process, once it runs (an earlier test's outage may be restarting it)."""
    intake_pid = live_pid(stack.pidfile("intake"))
    assert intake_pid is not None

    async def relay() -> list[int]:
        return [p for p, name in descendants(intake_pid).items() if name == RELAY_NAME]

    [pid] = await eventually(relay, timeout=20)
    return int(pid)


async def test_a_killed_relay_process_is_started_again_and_publishes_what_waited(
    stack: Stack, intake: httpx.AsyncClient, settings: Settings, key: str
) -> None:
    killed = await _relay_pid(stack)
    os.kill(killed, signal.SIGKILL)

    ids = await _post(intake, key, 40)  # 202 while no relay runs: they wait in the outbox

    assert await _all_published(settings, ids) == ids
    assert await _relay_pid(stack) != killed
    ready = await intake.get("/readyz")
    assert ready.json()["checks"]["relay"] is True


def _group(pgid: int) -> set[int]:
    members = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid and fields[0] != "Z":  # zombies are already gone
                    members.add(int(entry.name))
    return members


async def test_intakes_helper_processes_do_not_outlive_it(stack: Stack) -> None:
    intake_pid = live_pid(stack.pidfile("intake"))
    assert intake_pid is not None
    helpers = _group(intake_pid) - {intake_pid}
    assert len(helpers) >= 3, "the relay and the validators"

    async def all_gone() -> bool:
        return not _group(intake_pid)

    os.kill(intake_pid, signal.SIGKILL)  # only the HTTP process, as the OOM killer would
    try:
        await eventually(all_gone, timeout=20)
    finally:
        stack.start_service("intake")
