"""The operator's command line against the test stack, and what the services' logs may hold."""

from __future__ import annotations

import json
import re
from typing import Any

import asyncpg
import httpx

from shared.settings import Settings
from shared.stack import Stack
from tests.conftest import KeyFactory
from tests.support import (
    COMMUNE,
    bearer,
    eventually,
    landsync,
    make_record,
    reaches,
    register,
    submit,
)

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Trace context is hex, and one trace id in fifteen holds a run of exactly 9 or 12 digits.
_TRACE = re.compile(r'"(?:trace_id|span_id|parent_id|traceparent)":\s*"[0-9a-f-]+"')


async def test_a_key_made_by_the_cli_submits_for_its_commune_only(
    settings: Settings, intake: httpx.AsyncClient
) -> None:
    made = landsync(
        settings, "keys", "create", "--role", "submitter", "--commune", COMMUNE, "--json"
    )

    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    assert created["role"] == "submitter"
    assert created["communes"] == [COMMUNE]
    headers = bearer(created["key"])
    assert (
        await intake.post("/v1/records", json=make_record(COMMUNE), headers=headers)
    ).status_code == 202
    assert (
        await intake.post("/v1/records", json=make_record("09187"), headers=headers)
    ).status_code == 403


def test_keys_create_says_which_key_it_made_with_the_right_article(settings: Settings) -> None:
    made = landsync(settings, "keys", "create", "--role", "operator")

    assert made.returncode == 0, made.stderr
    assert "Created an operator key for all communes." in made.stderr
    assert made.stdout.startswith("lsk_")


async def test_records_list_and_export_show_a_rejected_record_with_its_reason(
    settings: Settings, intake: httpx.AsyncClient, new_key: KeyFactory
) -> None:
    commune = "08421"  # no other test's records: the worklist lists the oldest decisions first
    key = await new_key("submitter", [commune])
    wrong = make_record(commune, scan_file="IMG_0001.pdf")
    [record_id] = await submit(intake, key, wrong)

    await reaches(intake, key, record_id, "rejected")
    listed = landsync(settings, "records", "list", "--commune", commune, "--format", "jsonl")
    exported = landsync(settings, "records", "export", "--commune", commune)
    table = landsync(settings, "records", "list", "--commune", commune)

    assert listed.returncode == exported.returncode == table.returncode == 0, listed.stderr
    [item] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert item["submission_id"] == wrong["submission_id"]
    assert "scan_name_mismatch" in [r["code"] for r in item["reasons"]]
    assert "scan_name_mismatch" in exported.stdout
    assert wrong["submission_id"] in table.stdout


def test_a_submitter_key_without_a_commune_is_refused(settings: Settings) -> None:
    made = landsync(settings, "keys", "create", "--role", "submitter")

    assert made.returncode == 2
    assert "commune" in made.stderr


def test_status_json_tells_scripts_where_everything_runs(settings: Settings, stack: Stack) -> None:
    shown = landsync(settings, "status", "--json")

    status = json.loads(shown.stdout)
    assert status["services"]["intake"] == {
        "url": settings.service_url("intake"),
        "running": True,
        "pid": stack.status()["services"]["intake"]["pid"],
    }
    assert status["services"]["kafka"]["bootstrap"] == settings.bootstrap


async def _taken_by_sync(db: asyncpg.Pool[Any], record_id: str) -> None:
    """Wait until sync has taken the record: its sync_state is set, whatever the outcome."""

    async def taken() -> bool:
        state = await db.fetchval(
            "SELECT sync_state FROM records WHERE record_id = $1::uuid", record_id
        )
        return state is not None

    await eventually(taken, timeout=60)


async def test_no_personal_id_or_name_reaches_a_service_log(
    settings: Settings,
    stack: Stack,
    intake: httpx.AsyncClient,
    db: asyncpg.Pool[Any],
    key: str,
) -> None:
    personal_id, legacy_id, name = "027190123456", "125987654", "Trịnh Thị Xuân Hương"
    record = make_record(COMMUNE)
    record["owners"][0].update(full_name=name, personal_id=personal_id, legacy_id=legacy_id)
    await register(db, record)
    bad = make_record(COMMUNE, colour="red")  # a refusal is logged too
    bad["owners"][0].update(full_name=name, personal_id=personal_id)
    posted = await intake.post("/v1/records", json=[record, bad], headers=bearer(key))
    record_id = posted.json()["results"][0]["record_id"]

    await _taken_by_sync(db, record_id)
    for service in ("intake", "reconcile", "sync"):
        text = stack.log(service).read_text(encoding="utf-8")
        assert record_id in text, f"{service} should log the record by id (at DEBUG)"
        assert personal_id not in text
        assert legacy_id not in text
        assert name not in text
        # A record id may end in twelve digits, a trace id hold them.
        outside_ids = _TRACE.sub("", _UUID.sub("", text))
        assert not re.findall(r"(?<!\d)\d{12}(?!\d)", outside_ids), f"an ID in {service}.log"


async def test_every_line_of_a_service_log_is_one_json_object(
    settings: Settings, stack: Stack, intake: httpx.AsyncClient, db: asyncpg.Pool[Any],
    key: str,
) -> None:  # fmt: skip
    record = make_record(COMMUNE)
    await register(db, record)
    [record_id] = await submit(intake, key, record)

    await _taken_by_sync(db, record_id)
    for service in ("intake", "reconcile", "sync", "national-db"):
        lines = _this_run(stack.log(service).read_text(encoding="utf-8").splitlines())
        loggers, events = set(), set()
        for n, line in enumerate(lines, 1):
            where = f"{service}.log line {n}: {line[:160]}"
            assert "\x1b" not in line, f"ANSI colour codes in {where}"
            event = json.loads(line)  # a banner or FastStream's own text would fail here
            assert isinstance(event, dict), where
            assert {"event", "level", "timestamp", "logger"} <= set(event), where
            if event["logger"] != "landsync.stack":  # the stack's own start mark
                assert isinstance(event["pid"], int), where
                assert event["service"] == service, where
            loggers.add(event["logger"])
            events.add(event["event"])
        assert len(lines) > 3, service
        if service in {"reconcile", "sync"}:
            assert "landsync.faststream" in loggers, (
                f"FastStream's lines reach {service}.log as JSON"
            )
        if service == "reconcile":
            assert "batch reconciled" in events  # one summary line per batch in both consumers
        if service == "sync":
            assert "batch settled" in events


def _this_run(lines: list[str]) -> list[str]:
    """The lines since the service's last start mark: a log is appended across runs.

    (An earlier run's shutdown may end in a line that is not ours: multiprocessing's resource
    tracker, a process of its own, warns in plain text when intake's validators went first.)
    """
    marks = [n for n, line in enumerate(lines) if '"event": "landsync: starting"' in line]
    return lines[marks[-1] :] if marks else lines
