"""Helpers the tests share: building records, reading topics, creating API keys."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Collection
from datetime import date
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.normalize import fold_name, serial_key
from shared.settings import PROJECT_ROOT, Settings
from shared.stack.services import child_env
from shared.topics import Topic

#: The commune a record is of unless a test says otherwise, and the ``key`` fixture's.
COMMUNE = "07339"
_counter = itertools.count()
#: The last six digits of each fresh owner's CCCD: consecutive from a random start, so no two
#: owners of a session share an id (random ones did, one run in a few, and the resident
#: registered first kept the id: the other record's owner was then not found).
_resident = itertools.count(random.randrange(10**6))


def make_record(commune: str = COMMUNE, **overrides: Any) -> dict[str, Any]:
    """A complete, valid Form 01 record with a fresh submission id and parcel."""
    n = next(_counter)
    # A certificate of its own, as real records have: thousands of records under one serial
    # would make every reconcile lookup fetch thousands of certificate rows.
    serial = f"CK {n % 1_000_000:06d}"
    record: dict[str, Any] = {
        "submission_id": f"test-{uuid.uuid4().hex[:12]}-{n}",
        "commune_code": commune,
        "template_version": "PL3-49",
        "certificate": {"serial": serial, "book_number": "CS06999", "issued_on": "2016-05-12"},
        "holder_type": "individual",
        "owners": [
            {
                "full_name": "Nguyễn Văn An",
                "personal_id": "024085001234",
                "date_of_birth": "1985-03-02",
                "sex": "male",
                "role": "individual",
                "address": "Thôn Đồng Lạc, xã Tân Yên, tỉnh Bắc Ninh",
            }
        ],
        "parcel": {
            "map_sheet": 1 + n % 90,
            "parcel_no": 1000 + n,
            "area_m2": 96.1,
            "land_uses": [{"code": "ONT", "area_m2": 96.1, "origin": "CNQ-KTT", "term": "Lâu dài"}],
        },
        "collection_status": "supplied",
        "scan_file": f"{serial.replace(' ', '')}.pdf",
    }
    record.update(overrides)
    return record


def communes(first: int) -> Callable[[], str]:
    """Commune codes from ``first`` on, one per call: a test's own commune counts in no other's."""
    numbers = itertools.count(first)
    return lambda: f"{next(numbers):05d}"


#: A commune of a test's own (the ``commune`` fixture's): from 08101 on, no real commune's code.
own_commune = communes(8101)


def free_port() -> int:
    """A local TCP port nothing listens on: bound, then closed again."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def records_file(path: Path, *records: dict[str, Any]) -> Path:
    """The records written as JSON lines at ``path``, the file ``landsync submit`` reads."""
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def one_line(done: subprocess.CompletedProcess[str], status: int) -> str:
    """The one line a ``landsync`` run that exited with ``status`` wrote to stderr, with no
    traceback."""
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def bearer(key: str) -> dict[str, str]:
    """The Authorization header of an API key."""
    return {"Authorization": f"Bearer {key}"}


async def submit(intake: httpx.AsyncClient, key: str, *records: dict[str, Any]) -> list[str]:
    """POST the records to ``/v1/records`` as one batch; their record ids, once it answered 202."""
    response = await intake.post("/v1/records", json=list(records), headers=bearer(key))
    assert response.status_code == 202, response.text
    return [r["record_id"] for r in response.json()["results"]]


async def post_ndjson(intake: httpx.AsyncClient, key: str, body: bytes) -> httpx.Response:
    """POST an NDJSON body to ``/v1/records:ndjson`` with the key; intake's answer."""
    return await intake.post(
        "/v1/records:ndjson",
        content=body,
        headers={**bearer(key), "Content-Type": "application/x-ndjson"},
    )


def parcel_key_of(record: dict[str, Any]) -> str:
    """The parcel key a record must be published under."""
    parcel = record["parcel"]
    return f"{record['commune_code']}:{parcel['map_sheet']}:{parcel['parcel_no']}"


@contextlib.asynccontextmanager
async def _from_beginning(bootstrap: str, topic: str) -> AsyncIterator[AIOKafkaConsumer]:
    # No group: every partition is assigned, read from the earliest offset, nothing committed.
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    async with started(consumer):
        deadline = time.monotonic() + 15
        while not consumer.assignment():
            if time.monotonic() > deadline:
                raise AssertionError(f"no partitions of {topic} were assigned")
            await asyncio.sleep(0.1)
        yield consumer


class _Client(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


_C = TypeVar("_C", bound=_Client)


@contextlib.asynccontextmanager
async def started(client: _C) -> AsyncIterator[_C]:
    """The client (a producer, LandSync's or aiokafka's) started for the block, stopped however
    the block ends."""
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


def plain_producer(bootstrap: str) -> contextlib.AbstractAsyncContextManager[AIOKafkaProducer]:
    """An idempotent aiokafka producer for the block, none of LandSync's: what it sends is the
    test's bytes and headers only."""
    return started(AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True))


async def read_topic(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[Any]], bool],
    timeout: float = 60.0,
) -> list[Any]:
    """Every message of ``topic`` from the start, read until ``until(messages)`` or timeout."""
    async with _from_beginning(bootstrap, topic) as consumer:
        messages: list[Any] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not until(messages):
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                messages.extend(records)
        return messages


async def read_to_end(bootstrap: str, topic: str, timeout: float = 60.0) -> list[Any]:
    """Every message of ``topic`` up to the end offsets as of now, from every partition."""
    async with _from_beginning(bootstrap, topic) as consumer:
        partitions = list(consumer.assignment())
        ends = await consumer.end_offsets(partitions)
        messages: list[Any] = []
        deadline = time.monotonic() + timeout
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {topic} to its end in {timeout}s")
            for records in (await consumer.getmany(timeout_ms=500)).values():
                messages.extend(records)
        return messages


async def carrying(settings: Settings, topic: Topic, record_ids: Collection[str]) -> list[Any]:
    """The messages of ``topic``, read to its end as of now, that carry any of the records."""
    wanted = set(record_ids)
    messages = await read_to_end(settings.bootstrap, settings.topics.name(topic))
    return [m for m in messages if record_id_of(m) in wanted]


async def eventually(
    check: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.2
) -> Any:
    """Poll an async check until it returns a truthy value; return that value or fail."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


async def reaches(intake: httpx.AsyncClient, key: str, record_id: str, status: str) -> None:
    """Wait until ``GET /v1/records/{record_id}`` shows the status."""

    async def reached() -> bool:
        response = await intake.get(f"/v1/records/{record_id}", headers=bearer(key))
        return bool(response.json()["status"] == status)

    await eventually(reached, timeout=90, interval=0.5)


async def published(db: Any, record_ids: list[str], *, timeout: float = 60.0) -> None:
    """Wait until every record is decided and its decision published to Kafka."""

    async def all_published() -> bool:
        n = await db.fetchval(
            "SELECT count(*) FROM records WHERE record_id = ANY($1::uuid[])"
            " AND decision <> 'received' AND published_at IS NOT NULL",
            record_ids,
        )
        return bool(n == len(record_ids))

    await eventually(all_published, timeout=timeout)


async def dead_lettered(
    intake: httpx.AsyncClient, db: Any, key: str, record: dict[str, Any], *, timeout: float = 60
) -> str:
    """Submit the record, wait until reconcile has dead-lettered it and Kafka acknowledged the
    letter; its record id."""
    [record_id] = await submit(intake, key, record)

    async def done() -> bool:
        return bool(
            await db.fetchval(
                "SELECT true FROM records WHERE record_id = $1::uuid"
                " AND decision = 'dead_lettered' AND published_at IS NOT NULL",
                record_id,
            )
        )

    await eventually(done, timeout=timeout)
    return record_id


def fresh_owner(record: dict[str, Any]) -> dict[str, Any]:
    """Give the record's first owner an identity no other test uses, so tests share no resident."""
    born = date(1950 + random.randrange(49), 1 + random.randrange(12), 1 + random.randrange(28))
    record["owners"][0].update(
        personal_id=f"0240{born.year % 100:02d}{next(_resident) % 10**6:06d}",
        date_of_birth=born.isoformat(),
        sex="male",
    )
    return record


async def register(db: Any, *records: dict[str, Any]) -> None:
    """Put the records' owners and certificates in the registry, so reconcile accepts them."""

    residents, certificates = [], []
    for record in records:
        for o in record["owners"]:
            born = date.fromisoformat(o["date_of_birth"])
            name = o["full_name"]
            residents.append(
                (o["personal_id"], o.get("legacy_id"), name, fold_name(name), born, o["sex"])
            )
        serial, parcel = record["certificate"]["serial"], record["parcel"]
        certificates.append(
            (
                serial,
                serial_key(serial),
                parcel.get("old_commune_code") or record["commune_code"],
                parcel.get("certificate_map_sheet") or parcel["map_sheet"],
                parcel.get("certificate_parcel_no") or parcel["parcel_no"],
                [o["personal_id"] for o in record["owners"]],
            )
        )
    async with db.acquire() as conn:
        await conn.executemany(
            "INSERT INTO residents (personal_id, legacy_id, full_name, name_key, date_of_birth,"
            " sex, status) VALUES ($1, $2, $3, $4, $5, $6, 'alive') ON CONFLICT DO NOTHING",
            residents,
        )
        await conn.executemany(
            "INSERT INTO certificates (serial, serial_key, commune_code, map_sheet, parcel_no,"
            " holder_ids, status) VALUES ($1, $2, $3, $4, $5, $6, 'valid') ON CONFLICT DO NOTHING",
            certificates,
        )


async def registered_record(db: Any, commune: str = COMMUNE) -> dict[str, Any]:
    """A record of the commune, its owner (a fresh one) and certificate in the registry."""
    record = fresh_owner(make_record(commune))
    await register(db, record)
    return record


async def mortgage(db: Any, record: dict[str, Any]) -> None:
    """Register an active mortgage on the record's parcel: reconcile dead-letters the record."""
    parcel = record["parcel"]
    await db.execute(
        "UPDATE certificates SET mortgage_registered_on = '2021-01-01', mortgage_bank = 'Agribank'"
        " WHERE (commune_code, map_sheet, parcel_no) = ($1, $2, $3)",
        record["commune_code"],
        parcel["map_sheet"],
        parcel["parcel_no"],
    )


async def forget_owner(db: Any, record: dict[str, Any]) -> None:
    """Take the record's first owner out of the registry: reconcile cannot resolve them."""
    await db.execute(
        "DELETE FROM residents WHERE personal_id = $1", record["owners"][0]["personal_id"]
    )


def record_id_of(message: Any) -> str:
    """A message's ``record.id`` header: safe on topics where tests also put undecodable values."""
    return str(dict(message.headers).get("record.id", b"").decode())


def value_of(message: Any) -> dict[str, Any]:
    """A message's JSON value, or ``{}`` when it is not JSON (a poison message)."""
    try:
        value = orjson.loads(message.value)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def run_cli(
    env: dict[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the ``landsync`` command line with exactly this environment; what it did."""
    return subprocess.run(
        [sys.executable, "-m", "shared.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_service(module: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``python -m services.<module>`` from the project root with exactly this environment, its
    output appended to ``log``: a service process of the test's own, which the test stops."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", f"services.{module}"],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def landsync(settings: Any, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the ``landsync`` command line against the test stack."""
    return run_cli(child_env(settings), *args, timeout=timeout)


def landsync_ok(
    settings: Any, *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the ``landsync`` command line against the test stack; it must exit 0 (else the
    assertion shows the end of what it wrote)."""
    done = landsync(settings, *args, timeout=timeout)
    assert done.returncode == 0, (done.stdout + done.stderr)[-2000:]
    return done


def generated_commune(settings: Any, out: Path, plots: str, seed: str, *options: str) -> Path:
    """``landsync generate`` of one commune into ``out`` (with these options too), its residents
    and certificates then loaded into the registry; ``out``."""
    landsync_ok(settings, "generate", "--communes", "1", "--plots", plots, "--seed", seed,
                "--out", str(out), *options, timeout=600)  # fmt: skip
    for kind in ("residents", "certificates"):
        landsync_ok(settings, "registry", "load", kind, str(out / f"{kind}.csv"), timeout=600)
    return out
