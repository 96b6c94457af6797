"""One record's path is one trace: intake → outbox → Kafka → reconcile → sync → national database.

The test stack runs with tracing on, its spans written as JSON lines (``LANDSYNC_TRACE_DIR``).
The client starts the trace (its ``traceparent``), as an upstream system would.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import asyncpg
import httpx

from shared.settings import Settings
from shared.stack import Stack
from tests.support import bearer, eventually, registered_record

SERVICES = {"landsync-intake", "landsync-reconcile", "landsync-sync", "landsync-national-db"}


def _spans(settings: Settings, trace_id: str) -> list[dict[str, Any]]:
    assert settings.trace_dir is not None
    found = []
    for path in settings.trace_dir.glob("*.jsonl"):
        # The services write while this reads: the text after the last newline may be half a
        # span, still being written.
        for line in path.read_text(encoding="utf-8").split("\n")[:-1]:
            span = json.loads(line)
            if span["trace_id"] == trace_id:
                found.append(span)
    return found


async def test_one_records_path_is_one_trace_across_the_services(
    db: asyncpg.Pool[Any], intake: httpx.AsyncClient, key: str, settings: Settings,
    stack: Stack,
) -> None:  # fmt: skip
    record = await registered_record(db)
    trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
    headers = bearer(key) | {"traceparent": f"00-{trace_id}-{client_span}-01"}

    posted = await intake.post("/v1/records", json=record, headers=headers)
    assert posted.status_code == 202, posted.text
    record_id = posted.json()["results"][0]["record_id"]

    async def synced() -> bool:
        state = await db.fetchval(
            "SELECT sync_state FROM records WHERE record_id = $1::uuid", record_id
        )
        return bool(state == "synced")

    await eventually(synced, timeout=90)

    async def every_service_traced() -> list[dict[str, Any]] | None:
        spans = _spans(settings, trace_id)
        return spans if {s["service"] for s in spans} >= SERVICES else None

    spans = await eventually(every_service_traced, timeout=30)
    by_name = {s["name"]: s for s in spans}
    received = by_name["intake.receive"]
    decided = by_name["reconcile.decide"]
    sent = by_name["sync.send"]
    [request] = [s for s in spans if s["kind"] == "client" and s["service"] == "landsync-sync"]
    applied = by_name["national_db.batch_upsert"]
    # One chain of parents: the client's span, intake, reconcile, sync, its request, the database.
    assert received["parent_id"] == client_span
    assert decided["parent_id"] == received["span_id"]
    assert sent["parent_id"] == decided["span_id"]
    assert request["parent_id"] == sent["span_id"]
    assert applied["parent_id"] == request["span_id"]
    # and intake's log lines of that request carry the trace id
    text = stack.log("intake").read_text(encoding="utf-8")
    assert any(
        e.get("trace_id") == trace_id and e.get("event") == "records answered"
        for e in map(_event, text.splitlines())
    )


def _event(line: str) -> dict[str, Any]:
    """A log line's event; {} for a line that is not one (after the crash tests a killed
    intake's resource tracker writes plain text, and its processes share the file)."""
    try:
        event: dict[str, Any] = json.loads(line)
    except ValueError:
        return {}
    return event
