"""The national database simulator as a process: its HTTP contract, and its state across a crash."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.settings import Settings
from shared.stack import Stack
from shared.stack.services import wait_ready
from tests.support import bearer, start_service

TOKEN = "test-token"  # a throwaway token of a throwaway simulator


def _items(*parcels: str, version: int = 1) -> dict[str, Any]:
    return {
        "items": [
            {
                "parcel_key": p,
                "version": version,
                "idempotency_key": f"{p}:v{version}",
                "plot": {"area_m2": 96.1},
            }
            for p in parcels
        ]
    }


def _upsert(url: str, *parcels: str, token: str = TOKEN) -> httpx.Response:
    """``POST /v1/parcels:batchUpsert`` of version 1 of the parcels, with this bearer token."""
    return httpx.post(
        f"{url}/v1/parcels:batchUpsert",
        json=_items(*parcels),
        headers=bearer(token),
    )


class _Process:
    def __init__(self, port: int, data_file: Path, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self._env = {
            **os.environ,
            "LANDSYNC_NATIONAL_DB_PORT": str(port),
            "LANDSYNC_NATIONAL_DB_DATA_FILE": str(data_file),
            "LANDSYNC_NATIONAL_DB_TOKEN": TOKEN,
        }
        self._log = log
        self._child: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._child = start_service("national_db", self._env, self._log)
        wait_ready(f"{self.url}/healthz", self._child.pid, self._log, timeout=30)

    def kill(self) -> None:
        if self._child is not None:
            self._child.send_signal(signal.SIGKILL)
            self._child.wait(10)
            self._child = None


@pytest.fixture
def simulator(tmp_path: Path, settings: Settings) -> Iterator[_Process]:
    """A simulator of its own, with a journal, on a port next to the test stack's."""
    process = _Process(settings.national_db_port + 1, tmp_path / "ndb.jsonl", tmp_path / "ndb.log")
    process.start()
    try:
        yield process
    finally:
        process.kill()


def test_acknowledged_upserts_survive_a_sigkill_of_the_simulator(simulator: _Process) -> None:
    first = _upsert(simulator.url, "07339:1:1", "07339:1:2")
    assert first.status_code == 200

    simulator.kill()
    simulator.start()

    stats = httpx.get(f"{simulator.url}/v1/_stats").json()
    assert stats["parcels"] == stats["created"] == 2
    again = _upsert(simulator.url, "07339:1:1")
    assert again.json()["results"][0] == first.json()["results"][0]
    assert httpx.get(f"{simulator.url}/v1/_stats").json()["duplicates_suppressed"] == 1


def test_the_simulator_refuses_a_wrong_token_but_its_test_controls_need_none(
    stack: Stack, settings: Settings
) -> None:
    url = settings.service_url("national-db")
    wrong = _upsert(url, "07339:9:1", token="wrong")
    assert wrong.status_code == 401
    assert httpx.get(f"{url}/v1/_stats").status_code == 200
    assert httpx.get(f"{url}/v1/_faults").status_code == 200


def test_a_refused_parcel_fails_its_request_with_422_naming_it_and_nothing_is_applied(
    simulator: _Process,
) -> None:
    httpx.post(f"{simulator.url}/v1/_faults", json={"reject_parcels": ["07339:2:2"]})
    refused = _upsert(simulator.url, "07339:2:1", "07339:2:2")
    assert refused.status_code == 422
    assert [r["parcel_key"] for r in refused.json()["refused"]] == ["07339:2:2"]
    assert httpx.get(f"{simulator.url}/v1/_stats").json()["parcels"] == 0
    rest = _upsert(simulator.url, "07339:2:1")
    assert rest.json()["results"][0]["status"] == "created"
