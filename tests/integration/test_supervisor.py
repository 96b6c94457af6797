"""The local stack heals: a component that dies is started again, one that keeps dying is given
up on loudly, and ``landsync status`` shows both."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from shared.settings import Settings
from shared.stack import Stack
from shared.stack.processes import live_pid
from tests.support import eventually, landsync

QUICK = {
    "supervisor_max_restarts": 3,
    "supervisor_window_seconds": 300.0,
    "supervisor_backoff_initial_seconds": 0.2,
    "supervisor_backoff_max_seconds": 1.0,
}


@pytest.fixture
def supervise(stack: Stack) -> Iterator[Callable[[Settings], None]]:
    """Starts supervisors with the settings given; each stopped after the test, sync kept up."""
    started: list[Stack] = []

    def start(settings: Settings) -> None:
        watcher = Stack(settings)
        watcher.supervise()
        started.append(watcher)

    yield start
    for each in started:
        each.stop_supervisor()
    stack.start_service("sync")


def _record(stack: Stack, name: str) -> dict[str, Any]:
    found: dict[str, Any] = stack.supervision()["components"].get(name, {})
    return found


async def _restarted(stack: Stack, settings: Settings, old_pid: int) -> int:
    async def back() -> bool:
        pid = live_pid(stack.pidfile("sync"))
        if pid is None or pid == old_pid:
            return False
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(f"{settings.service_url('sync')}/healthz")).is_success
        except httpx.HTTPError:
            return False

    await eventually(back, timeout=90)
    pid = live_pid(stack.pidfile("sync"))
    assert pid is not None
    return pid


async def _counted(stack: Stack, restarts: int) -> dict[str, Any]:
    """Sync's record once the supervisor has written its restart (after sync answered)."""

    async def written() -> bool:
        return bool(_record(stack, "sync").get("restarts", 0) >= restarts)

    await eventually(written, timeout=30)
    return _record(stack, "sync")


async def test_a_killed_service_is_started_again(
    stack: Stack, settings: Settings, supervise: Callable[[Settings], None]
) -> None:
    supervise(settings.model_copy(update=QUICK))
    first = live_pid(stack.pidfile("sync"))
    assert first is not None

    os.kill(first, signal.SIGKILL)  # a crash: nobody removed its pid file
    second = await _restarted(stack, settings, first)
    once = await _counted(stack, 1)
    os.kill(second, signal.SIGKILL)
    await _restarted(stack, settings, second)
    twice = await _counted(stack, 2)
    shown = landsync(settings, "status")

    assert once["restarts"] == 1
    assert once["last_exit"] == "unknown"  # started by the test's stack, not the supervisor's child
    assert twice["restarts"] == 2
    assert twice["last_exit"] == "SIGKILL"  # its own child now: it knows how it ended
    assert not twice["gave_up"]
    assert stack.supervision()["running"] is True
    sync_rows = [line for line in shown.stdout.splitlines() if line.startswith("│ sync ")]
    assert any("SIGKILL" in row for row in sync_rows), shown.stdout  # how it last ended
    assert "supervisor: running" in shown.stdout


async def test_a_service_that_keeps_dying_is_given_up_on_loudly(
    stack: Stack, settings: Settings, supervise: Callable[[Settings], None]
) -> None:
    # Every start of sync fails: it refuses clear http to a host that is not this machine.
    broken = settings.model_copy(update=QUICK | {"national_db_url": "http://ndb.example.gov.vn"})
    supervise(broken)
    pid = live_pid(stack.pidfile("sync"))
    assert pid is not None
    log_size = stack.log("supervisor").stat().st_size

    os.kill(pid, signal.SIGKILL)

    async def given_up() -> bool:
        return bool(_record(stack, "sync").get("gave_up"))

    await eventually(given_up, timeout=120)
    record = _record(stack, "sync")
    table = landsync(settings, "status")
    await asyncio.sleep(2)  # it stays given up: no further restart
    with stack.log("supervisor").open("rb") as log:
        log.seek(log_size)
        events = [json.loads(line) for line in log.read().splitlines()]

    assert record["restarts"] == QUICK["supervisor_max_restarts"]
    assert record["last_exit"] == "failed to start"
    assert _record(stack, "sync")["restarts"] == record["restarts"]
    assert live_pid(stack.pidfile("sync")) is None
    [loud] = [e for e in events if e["level"] == "error"]
    assert loud["component"] == "sync"
    assert "landsync up" in loud["fix"]
    assert "given up" in table.stdout
