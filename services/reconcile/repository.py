"""Reconcile's SQL: one query per kind of fact for a whole batch, and the decisions' writes."""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.reconcile.facts import CertificateRow, Facts, ParcelState, Resident
from shared.cases import Case, CaseState, Corrected, Moves
from shared.db.pool import Conn
from shared.kafka.consumer import GivenUp
from shared.states import DecisionState

_LOCK_POLL_SECONDS = 0.05


@contextlib.asynccontextmanager
async def partitions_locked(
    conn: Conn, group_id: str, partitions: Iterable[tuple[str, int]]
) -> AsyncIterator[None]:
    """Hold the group's advisory lock on each (topic, partition) until the block ends.

    During a rebalance two members can hold one partition for a moment: the one that lost it
    finishes its batch while the new one starts from the committed offset. The lock makes the
    new one wait, then read the ledger as the old one left it (decided and published), so it
    sends nothing twice and decides no parcel on stale state. Locks are taken in one order, so
    two members never wait on each other; a dead member's locks go with its connection, and a
    connection handed back to the pool after an error is reset (``pg_advisory_unlock_all``).
    """
    keys = sorted({(_lock_class(group_id, topic), part) for topic, part in partitions})
    for cls, part in keys:
        # Polled rather than waited for in the server: a backend blocked on a lock does not see
        # its client die, so a killed member's would go on holding the locks it already has.
        while not await conn.fetchval(  # noqa: ASYNC110 - the lock lives in another process
            "SELECT pg_try_advisory_lock($1, $2)", cls, part
        ):
            await asyncio.sleep(_LOCK_POLL_SECONDS)
    yield
    for cls, part in reversed(keys):
        await conn.execute("SELECT pg_advisory_unlock($1, $2)", cls, part)


def _lock_class(group_id: str, topic: str) -> int:
    """A stable signed 32-bit key for the group and topic (PostgreSQL's int4)."""
    crc = zlib.crc32(f"{group_id}\0{topic}".encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


@dataclass(frozen=True)
class LedgerState:
    """What the ledger already holds of a record's decision."""

    outcome: str  # records.decision
    reasons: list[dict[str, str]]
    warnings: list[dict[str, str]]
    plot_version: int | None
    replay_count: int
    published: bool

    def to_decide(self, replay_count: int) -> bool:
        """Whether a delivery with ``replay_count`` is decided (again): the rule of ``_STORE``."""
        return self.outcome == DecisionState.RECEIVED or (
            self.outcome == DecisionState.DEAD_LETTERED and self.replay_count < replay_count
        )


# One statement per kind of fact, as a UNION of index lookups: with ORs the planner falls back to
# a sequential scan of the whole registry (measured: every batch read all residents).
_RESIDENT_COLUMNS = "personal_id, legacy_id, full_name, name_key, date_of_birth, sex, status"
_RESIDENTS = f"""
SELECT {_RESIDENT_COLUMNS} FROM residents WHERE personal_id = ANY($1::text[])
UNION
SELECT {_RESIDENT_COLUMNS} FROM residents WHERE legacy_id = ANY($2::text[])
UNION
SELECT {_RESIDENT_COLUMNS} FROM residents
JOIN unnest($3::text[], $4::date[]) AS n(key, born)
  ON residents.name_key = n.key AND residents.date_of_birth = n.born
"""  # noqa: S608 - constant column list, no input
_CERTIFICATE_COLUMNS = (
    "serial, serial_key, c.commune_code, c.map_sheet, c.parcel_no, holder_ids, status,"
    " mortgage_registered_on, mortgage_released_on"
)
# The third branch brings the certificates the batch's parcels were accepted under, which tell a
# legitimate update (supersedes_previous) from a conflict. It asks for each such certificate once
# (a semi-join, not a join: many parcels accepted under one certificate would multiply its rows,
# measured at minutes for 2,000 parcels of one 8,000-row certificate), and only for those the
# first branch does not bring already.
_CERTIFICATES = f"""
SELECT {_CERTIFICATE_COLUMNS} FROM certificates c WHERE serial_key = ANY($1::text[])
UNION
SELECT {_CERTIFICATE_COLUMNS} FROM certificates c
JOIN unnest($2::text[], $3::int[], $4::int[]) AS p(commune_code, map_sheet, parcel_no)
  ON (c.commune_code, c.map_sheet, c.parcel_no) = (p.commune_code, p.map_sheet, p.parcel_no)
UNION
SELECT {_CERTIFICATE_COLUMNS} FROM certificates c
WHERE c.serial_key IN (SELECT certificate_key FROM parcels WHERE parcel_key = ANY($5::text[]))
  AND c.serial_key <> ALL($1::text[])
"""  # noqa: S608 - constant column list, no input


@dataclass
class FactQuery:
    """The keys a batch needs facts for, collected record by record."""

    personal_ids: set[str]
    legacy_ids: set[str]
    names: set[tuple[str, date]]
    serial_keys: set[str]
    parcels: set[tuple[str, int, int]]
    parcel_keys: set[str]


@dataclass(frozen=True)
class Stored:
    """A decision as the ledger stores it."""

    record_id: UUID
    outcome: str  # records.decision
    reasons: list[dict[str, str]]
    warnings: list[dict[str, str]]
    version: int | None
    replay_count: int


# A record is decided once; a replayed dead letter (a higher replay count) is decided again.
_STORE = f"""
UPDATE records r
SET decision = d.decision, reasons = d.reasons::jsonb, warnings = d.warnings::jsonb,
    plot_version = d.version, replay_count = d.replay_count, published_at = NULL,
    corrects_record_id = d.corrects, decided_at = now(), updated_at = now()
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::uuid[])
     AS d(record_id, decision, reasons, warnings, version, replay_count, corrects)
WHERE r.record_id = d.record_id
  AND (r.decision = '{DecisionState.RECEIVED}'
       OR (r.decision = '{DecisionState.DEAD_LETTERED}' AND r.replay_count < d.replay_count))
RETURNING r.record_id
"""  # noqa: S608 - constants only
_ACCEPT = """
INSERT INTO parcels (parcel_key, version, record_id, plot_hash, certificate_key)
SELECT * FROM unnest($1::text[], $2::int[], $3::uuid[], $4::bytea[], $5::text[])
ON CONFLICT (parcel_key) DO UPDATE
SET version = EXCLUDED.version, record_id = EXCLUDED.record_id, plot_hash = EXCLUDED.plot_hash,
    certificate_key = EXCLUDED.certificate_key, accepted_at = now()
WHERE parcels.version < EXCLUDED.version
"""
# Case rows are locked in key order, by reconcile and by sync alike, so the two never deadlock.
_LOCK_CASES = (
    "SELECT 1 FROM cases WHERE parcel_key = ANY($1::text[]) ORDER BY parcel_key FOR UPDATE"
)
_CLEANED = CaseState.CLEANED.value
_MOVE_CASES = f"""
INSERT INTO cases (parcel_key, commune_code, state, reasons, record_id, decided_at, cleaned_at)
SELECT k, c, s, string_to_array(r, ','), rid, now(),
       CASE WHEN s = '{_CLEANED}' THEN now() END
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::uuid[]) AS u(k, c, s, r, rid)
ON CONFLICT (parcel_key) DO UPDATE SET
    state = CASE WHEN cases.state = '{_CLEANED}' THEN '{_CLEANED}' ELSE EXCLUDED.state END,
    reasons = CASE WHEN cases.state = '{_CLEANED}' THEN '{{}}' ELSE EXCLUDED.reasons END,
    record_id = EXCLUDED.record_id, decided_at = now(),
    cleaned_at = coalesce(cases.cleaned_at, EXCLUDED.cleaned_at),
    corrected_by = NULL, updated_at = now()
"""  # noqa: S608 - constants only
_CLOSE_CASES = f"""
UPDATE cases SET state = '{CaseState.CORRECTED}', reasons = '{{}}', corrected_by = u.by,
                 updated_at = now()
FROM unnest($1::text[], $2::uuid[]) AS u(parcel_key, by)
WHERE cases.parcel_key = u.parcel_key AND cases.state = '{CaseState.OPEN}'
"""  # noqa: S608 - constants only


# Two index lookups (by submission_id, by record_id) rather than one join on an OR, which
# would read every record of the commune for each reference.
_CORRECTED = """
SELECT q.commune, q.ref, r.record_id, r.parcel_key, r.decision
FROM unnest($1::text[], $2::text[]) AS q(commune, ref)
JOIN records r ON r.submission_id = q.ref AND r.commune_code = q.commune
UNION ALL
SELECT q.commune, q.ref, r.record_id, r.parcel_key, r.decision
FROM unnest($3::text[], $4::uuid[], $5::text[]) AS q(commune, id, ref)
JOIN records r ON r.record_id = q.id AND r.commune_code = q.commune
"""


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


async def _move_cases(conn: Conn, planned: Moves) -> None:
    changes = sorted(planned.changes.values(), key=lambda c: c.parcel_key)
    if changes:
        await conn.execute(
            _MOVE_CASES,
            [c.parcel_key for c in changes],
            [c.commune_code for c in changes],
            [c.state.value for c in changes],
            [",".join(c.reasons) for c in changes],
            [c.record_id for c in changes],
        )
    if planned.closings:
        await conn.execute(
            _CLOSE_CASES,
            [c.parcel_key for c in planned.closings],
            [c.by for c in planned.closings],
        )


# A record whose message went to land.dlq.poison ends dead-lettered with the poison reason, so no
# 202 stays undecided; its dead letter is already acknowledged, hence published. A replay of the
# dead letter (a higher replay count) decides it again. Its case opens with that reason (unless
# cleaned already), the case rows locked in key order as everywhere else.
_GIVE_UP = f"""
WITH given AS (
    UPDATE records r
    SET decision = '{DecisionState.DEAD_LETTERED}', warnings = '[]', plot_version = NULL,
        decided_at = now(),
        reasons = jsonb_build_array(jsonb_build_object('code', g.reason, 'detail', g.detail)),
        published_at = now(), updated_at = now()
    FROM unnest($1::uuid[], $2::text[], $3::text[]) AS g(record_id, reason, detail)
    WHERE r.record_id = g.record_id AND r.decision = '{DecisionState.RECEIVED}'
    RETURNING r.record_id, r.parcel_key, g.reason
), locked AS (
    SELECT c.parcel_key FROM cases c WHERE c.parcel_key IN (SELECT parcel_key FROM given)
    ORDER BY c.parcel_key FOR UPDATE
)
UPDATE cases SET
    state = CASE WHEN cases.state = '{_CLEANED}' THEN '{_CLEANED}' ELSE '{CaseState.OPEN}' END,
    reasons = CASE WHEN cases.state = '{_CLEANED}' THEN '{{}}' ELSE ARRAY[given.reason] END,
    record_id = given.record_id, decided_at = now(), corrected_by = NULL, updated_at = now()
FROM locked JOIN given USING (parcel_key)
WHERE cases.parcel_key = locked.parcel_key
"""  # noqa: S608 - constants only


def as_rows(findings: Iterable[Any]) -> list[dict[str, str]]:
    """Findings in the ledger's JSON form."""
    return [f.as_json() for f in findings]


class PgLedger:
    """The ledger in PostgreSQL as the reconciler sees it (its ``Ledger`` port)."""

    def __init__(self, pool: Callable[[], asyncpg.Pool[Any]]) -> None:
        # A getter: the consumer's runtime opens the pool only once the event loop runs.
        self._pool = pool

    async def give_up(self, given_up: Sequence[GivenUp]) -> None:
        """Records dead-lettered as poison end dead-lettered with the poison reason."""
        known = [g for g in given_up if g.record_id is not None]
        if known:
            await self._pool().execute(
                _GIVE_UP,
                [g.record_id for g in known],
                [g.reason.value for g in known],
                [g.detail for g in known],
            )

    @contextlib.asynccontextmanager
    async def locked(
        self, group_id: str, partitions: Iterable[tuple[str, int]]
    ) -> AsyncIterator[PgLedgerSession]:
        """A session holding the group's lock on each partition until the block ends."""
        pool = self._pool()
        async with pool.acquire() as conn, partitions_locked(conn, group_id, partitions):
            yield PgLedgerSession(pool, conn)


class PgLedgerSession:
    """One batch's reads (on other pooled connections, at once) and writes (on the locked one)."""

    def __init__(self, pool: asyncpg.Pool[Any], conn: Conn) -> None:
        self._pool = pool
        self._conn = conn

    async def ledger_states(self, record_ids: Sequence[UUID]) -> dict[UUID, LedgerState]:
        """What the ledger holds of each record's decision."""
        rows = await self._pool.fetch(
            "SELECT record_id, decision, reasons, warnings, plot_version, replay_count,"
            " published_at IS NOT NULL AS published FROM records"
            " WHERE record_id = ANY($1::uuid[])",
            record_ids,
        )
        return {
            r["record_id"]: LedgerState(
                r["decision"],
                r["reasons"],
                r["warnings"],
                r["plot_version"],
                r["replay_count"],
                r["published"],
            )
            for r in rows
        }

    async def parcel_states(self, parcel_keys: Iterable[str]) -> dict[str, ParcelState]:
        """The accepted version of each parcel."""
        rows = await self._pool.fetch(
            "SELECT parcel_key, version, record_id, plot_hash, certificate_key FROM parcels"
            " WHERE parcel_key = ANY($1::text[])",
            list(set(parcel_keys)),
        )
        return {
            r["parcel_key"]: ParcelState(
                r["version"], r["record_id"], bytes(r["plot_hash"]), r["certificate_key"]
            )
            for r in rows
        }

    async def fetch_facts(self, want: FactQuery) -> Facts:
        """The residents and certificates the batch's records name: two queries at once."""
        names = sorted(want.names)
        parcels = sorted(want.parcels)
        resident_rows, certificate_rows = await asyncio.gather(
            self._pool.fetch(
                _RESIDENTS,
                list(want.personal_ids),
                list(want.legacy_ids),
                [n for n, _ in names],
                [d for _, d in names],
            ),
            self._pool.fetch(
                _CERTIFICATES,
                list(want.serial_keys),
                [p[0] for p in parcels],
                [p[1] for p in parcels],
                [p[2] for p in parcels],
                list(want.parcel_keys),
            ),
        )
        residents = [Resident(**dict(r)) for r in resident_rows]
        certificates = [
            CertificateRow(**{**dict(r), "holder_ids": tuple(r["holder_ids"])})
            for r in certificate_rows
        ]
        return Facts.index(residents, certificates)

    async def case_states(self, parcel_keys: Iterable[str]) -> dict[str, Case]:
        """The cases of the batch's parcels."""
        rows = await self._pool.fetch(
            "SELECT parcel_key, state, record_id FROM cases WHERE parcel_key = ANY($1::text[])",
            list(set(parcel_keys)),
        )
        return {r["parcel_key"]: Case(CaseState(r["state"]), r["record_id"]) for r in rows}

    async def corrected_records(
        self, references: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], Corrected]:
        """The records that (commune_code, ``corrects``) pairs name, by submission or record id."""
        refs = sorted(set(references))
        if not refs:
            return {}
        by_id = [(c, _uuid(r), r) for c, r in refs if _uuid(r) is not None]
        rows = await self._pool.fetch(
            _CORRECTED,
            [c for c, _ in refs],
            [r for _, r in refs],
            [c for c, _, _ in by_id],
            [i for _, i, _ in by_id],
            [r for _, _, r in by_id],
        )
        return {
            (r["commune"], r["ref"]): Corrected(
                r["record_id"], r["parcel_key"], DecisionState(r["decision"])
            )
            for r in rows
        }

    async def store_decisions(
        self,
        decisions: Sequence[Stored],
        parcels: dict[str, ParcelState],
        moves: Callable[[set[UUID]], Moves],
    ) -> set[UUID]:
        """Write decisions, parcel versions and cases in one transaction; return the ids decided.

        ``moves`` gives what the decided records do to cases (only those: a record decided
        already is left as it is).
        """
        conn = self._conn
        async with conn.transaction():
            planned = moves({d.record_id for d in decisions})
            keys = sorted({*planned.changes, *(c.parcel_key for c in planned.closings)})
            await conn.execute(_LOCK_CASES, keys)
            rows = await conn.fetch(
                _STORE,
                [d.record_id for d in decisions],
                [d.outcome for d in decisions],
                [orjson.dumps(d.reasons).decode() for d in decisions],
                [orjson.dumps(d.warnings).decode() for d in decisions],
                [d.version for d in decisions],
                [d.replay_count for d in decisions],
                [planned.corrections.get(d.record_id) for d in decisions],
            )
            decided = {r["record_id"] for r in rows}
            if len(decided) < len(decisions):
                planned = moves(decided)
            await _move_cases(conn, planned)
            accepted = [(k, p) for k, p in parcels.items() if p.record_id in decided]
            if accepted:
                await conn.execute(
                    _ACCEPT,
                    [k for k, _ in accepted],
                    [p.version for _, p in accepted],
                    [p.record_id for _, p in accepted],
                    [p.plot_hash for _, p in accepted],
                    [p.certificate_key for _, p in accepted],
                )
        return decided

    async def mark_published(self, record_ids: Sequence[UUID]) -> None:
        """The outputs of these records are acknowledged: a redelivery must not send them again."""
        await self._conn.execute(
            "UPDATE records SET published_at = now() WHERE record_id = ANY($1::uuid[])",
            record_ids,
        )
