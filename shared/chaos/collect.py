"""Gathers the chaos run's evidence: the ledger, the decision topics, the simulator's journal."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import orjson
from aiokafka import ConsumerRecord, TopicPartition

from shared.chaos.checks import LedgerRow
from shared.db.connection import connected
from shared.kafka.to_end import read_to_end
from shared.settings import Settings
from shared.stack import Stack
from shared.states import FINAL_SQL
from shared.topics import Topic

#: Where reconcile publishes decisions (the submitted and sync-failed topics carry none).
DECISION_TOPICS = (Topic.ACCEPTED, Topic.REJECTED, Topic.DLQ_OWNER_UNRESOLVED,
                   Topic.DLQ_MORTGAGED, Topic.DLQ_POISON)  # fmt: skip


async def count_final(settings: Settings, record_ids: list[str]) -> int:
    """How many of the records are final in the ledger now."""
    async with connected(settings.dsn, timeout=10) as conn:
        found = await conn.fetchval(
            f"SELECT count(*) FROM records WHERE record_id = ANY($1::uuid[]) AND {FINAL_SQL}",  # noqa: S608
            record_ids,
        )
    return int(found)


async def ledger_rows(settings: Settings) -> dict[str, LedgerRow]:
    """Every record of the (chaos stack's own) ledger, by record id."""
    async with connected(settings.dsn, timeout=10) as conn:
        rows = await conn.fetch(
            "SELECT record_id::text, submission_id, parcel_key, decision, sync_state,"
            " plot_version, reasons::text, warnings::text FROM records"
        )
    return {
        r["record_id"]: LedgerRow(
            r["submission_id"],
            r["parcel_key"],
            r["decision"],
            r["sync_state"],
            r["plot_version"],
            frozenset(x["code"] for x in orjson.loads(r["reasons"])),
            frozenset(x["code"] for x in orjson.loads(r["warnings"])),
        )
        for r in rows
    }


_WAITS = (
    "WITH w AS (SELECT extract(epoch FROM (CASE WHEN decision = 'accepted'"  # noqa: S608 - FINAL_SQL is a constant
    " THEN coalesce(synced_at, updated_at) ELSE decided_at END) - received_at) AS s"
    f" FROM records WHERE {FINAL_SQL})"
    " SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS p50,"
    " percentile_cont(0.99) WITHIN GROUP (ORDER BY s) AS p99, max(s) AS slowest FROM w"
)


async def waits(settings: Settings) -> tuple[float, float, float]:
    """Seconds from receipt to final, over every final record: the median, p99 and slowest."""
    async with connected(settings.dsn, timeout=10) as conn:
        row = await conn.fetchrow(_WAITS)
    if row is None or row["slowest"] is None:
        return (0.0, 0.0, 0.0)
    return (float(row["p50"]), float(row["p99"]), float(row["slowest"]))


def _says(topic: Topic, message: ConsumerRecord[bytes, bytes]) -> str:
    """What a decision message decides, so a replayed copy and a second decision differ."""
    if topic == Topic.ACCEPTED:
        return f"version {orjson.loads(message.value or b'{}')['version']}"
    if topic == Topic.REJECTED:
        reasons = orjson.loads(message.value or b"{}").get("reasons", [])
        return ",".join(sorted(r["code"] for r in reasons))
    return _header(message, "dlq.reasons") or _header(message, "dlq.reason")


def _header(message: ConsumerRecord[bytes, bytes], name: str) -> str:
    return next((v.decode() for k, v in message.headers if k == name), "")


async def decisions(
    settings: Settings, timeout: float = 120.0
) -> dict[str, frozenset[tuple[str, str]]]:
    """Record id → the distinct decision messages the output topics hold, read to their end."""
    names = {settings.topics.name(t): t for t in DECISION_TOPICS}
    found: dict[str, set[tuple[str, str]]] = {}
    counts = settings.topics.all()  # the partitions the stack created them with

    def note(tp: TopicPartition, m: ConsumerRecord[bytes, bytes]) -> None:
        if record_id := _header(m, "record.id"):
            topic = names[tp.topic]
            found.setdefault(record_id, set()).add((topic.value, _says(topic, m)))

    await read_to_end(
        settings,
        [TopicPartition(name, p) for name in names for p in range(counts[name])],
        note,
        client_id="landsync-chaos",
        timeout=timeout,
        what="the decision topics",
    )
    return {k: frozenset(v) for k, v in found.items()}


def applied(journal: Path | None) -> Counter[tuple[str, int]]:
    """(parcel key, version) → how many committed batches of the simulator wrote it.

    Read from the simulator's journal (services/national_db/journal.py: one JSON line per
    committed batch, ``parcels`` as [key, national id, version, digest, plot]); a torn last line
    was never acknowledged and is skipped, as the simulator's own replay does.
    """
    counts: Counter[tuple[str, int]] = Counter()
    if journal is None or not journal.exists():
        return counts  # nothing to read: the check then fails, it cannot pass on nothing
    for raw in journal.read_bytes().splitlines():
        try:
            entry = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        counts.update((p[0], int(p[2])) for p in entry["parcels"])
    return counts


def restarts(stack: Stack) -> dict[str, int]:
    """Component → how many times the supervisor started it again during the run."""
    components = stack.supervision()["components"]
    return {name: int(r.get("restarts", 0)) for name, r in components.items() if r.get("restarts")}


async def simulator_stats(settings: Settings) -> dict[str, int]:
    """The simulator's counters (``GET /v1/_stats``); empty if it does not answer."""
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"{settings.service_url('national-db')}/v1/_stats")
        stats: dict[str, int] = response.json()
    except (httpx.HTTPError, ValueError):
        return {}
    return stats
