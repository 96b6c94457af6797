"""The local stack manager: status shape, idempotent up, topics, and pid files that resist reuse."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from shared.kafka.admin import admin_client
from shared.settings import Settings
from shared.stack import Stack
from shared.stack import processes as proc
from shared.topics import Topics


def test_status_has_the_contract_shape(stack: Stack, settings: Settings) -> None:
    status = stack.status()
    assert set(status) == {"state_dir", "services"}
    names = ["intake", "reconcile", "sync", "national-db", "kafka", "postgres"]
    assert list(status["services"]) == names
    assert status["services"]["kafka"]["bootstrap"] == settings.bootstrap
    assert status["services"]["kafka"]["running"] is True
    assert status["services"]["postgres"]["dsn"] == settings.dsn
    assert status["services"]["postgres"]["running"] is True
    assert status["services"]["intake"]["url"] == settings.service_url("intake")
    json.dumps(status)  # what `landsync status --json` prints


def test_up_twice_restarts_nothing(stack: Stack) -> None:
    before = stack.status()
    after = stack.up(services=[])
    for name in ("kafka", "postgres"):
        assert after["services"][name]["pid"] == before["services"][name]["pid"]


async def test_topics_exist_with_their_partition_counts(stack: Stack, settings: Settings) -> None:
    wanted = Topics(settings.topic_prefix, settings.topic_partitions, settings.dlq_partitions).all()
    async with admin_client(settings.bootstrap) as admin:
        described = await admin.describe_topics(list(wanted))
    assert {t["topic"]: len(t["partitions"]) for t in described} == wanted


def test_a_recycled_pid_is_never_taken_for_ours(tmp_path: Path) -> None:
    pidfile = tmp_path / "x.pid"
    proc.write_pidfile(pidfile, os.getpid())
    assert proc.live_pid(pidfile) == os.getpid()
    record = json.loads(pidfile.read_text())
    record["start_time"] += 1  # same pid, another process's start time
    pidfile.write_text(json.dumps(record))
    assert proc.live_pid(pidfile) is None
    proc.terminate([pidfile], timeout=1.0)  # must not signal this very test process
    assert not pidfile.exists()


def test_kill_ends_a_detached_process(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    pid = proc.spawn(argv, log=tmp_path / "sleep.log", cwd=tmp_path)
    pidfile = tmp_path / "sleep.pid"
    proc.write_pidfile(pidfile, pid)
    assert proc.live_pid(pidfile) == pid
    proc.kill(pidfile)
    assert not proc.alive(pid)
    assert not pidfile.exists()
