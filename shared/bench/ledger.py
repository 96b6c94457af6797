"""A made-up campaign ledger for ``landsync bench report``: records and their cases, as rows.

Pure: a seed, a size and a clock in, ``records`` and ``cases`` rows out (in COPY's column order),
shaped like a province's 90 days: ~200 communes, a slow start then the rush after the
conference, mostly accepted and synced, some rejected and corrected (a few with ``corrects``
naming another parcel), dead letters, plots the national database refused, duplicates, and the
last records not decided yet. Nothing goes through Kafka or the services.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from shared.cases import CaseState
from shared.records import parcel_key
from shared.states import DecisionState, SyncState
from shared.synthetic import communes, records

RECORD_COLUMNS = (
    "record_id", "submission_id", "content_hash", "commune_code", "parcel_key", "record",
    "decision", "reasons", "warnings", "submitted_by", "received_at", "decided_at", "sync_state",
    "sync_attempts", "sync_last_error", "national_id", "synced_at", "updated_at", "plot_version",
    "published_at", "sync_reason", "corrects_record_id",
)  # fmt: skip
CASE_COLUMNS = (
    "parcel_key", "commune_code", "state", "reasons", "record_id", "decided_at", "received_at",
    "cleaned_at", "synced_at", "corrected_by", "updated_at",
)  # fmt: skip
DAYS = 90
# The first record of a parcel: (decision, share). What is left over is not decided yet.
_FIRST = ((DecisionState.ACCEPTED, 0.80), (DecisionState.REJECTED, 0.11))
_DEAD = 0.075  # dead-lettered by reconcile
_SYNC = ((SyncState.SYNCED, 0.86), (SyncState.PENDING, 0.09))  # else failed
_CORRECTED, _NEW_PARCEL, _DUPLICATE = 0.6, 0.1, 0.04
_REJECTING = (
    ("incomplete", "missing: owners[0].date_of_birth"),
    ("certificate_not_found", "no certificate CS 123456; did you mean CS 123465?"),
    ("certificate_parcel_mismatch", "the certificate is for sheet 3, parcel 112"),
    ("scan_name_mismatch", "IMG_0042.pdf"),
    ("invalid_land_use", "use areas add up to 350.0 m², the parcel is 360.0 m²"),
)
_DEAD_LETTERING = ("owner_unresolved", "mortgaged", "owner_deceased")
_DEAD_LETTERING_WEIGHTS = (6, 3, 1)


def commune_codes(count: int) -> list[str]:
    """The province's communes, then made-up codes (9xxxx) up to ``count``."""
    known = [code for code, _ in communes()][:count]
    return known + [f"{90000 + n:05d}" for n in range(count - len(known))]


@dataclass
class Commune:
    """One commune's rows to COPY, and the target the province gave it."""

    code: str
    records: list[tuple[Any, ...]]
    cases: list[tuple[Any, ...]]
    target_plots: int


@dataclass
class _Parcel:
    """One case being written: its records so far."""

    key: str
    commune: str
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    corrected_by: uuid.UUID | None = None


class _Writer:
    """Turns each commune's records into ledger rows, with the clock and the dice it needs."""

    def __init__(self, rng: random.Random, start: datetime, now: datetime) -> None:
        self.rng, self.start, self.now = rng, start, now
        # A slow first ten days, then the rush after the conference, tailing off at the end.
        weights = [1.0 if d < 10 else 4.0 - 2.0 * (d - 10) / (DAYS - 10) for d in range(DAYS)]
        self.days, self.weights = list(range(DAYS)), weights

    def arrival(self) -> datetime:
        day = self.rng.choices(self.days, self.weights)[0]
        # working hours in Vietnam (UTC+7): 07:00 to 17:30; none later than now
        at = self.start + timedelta(days=day, seconds=self.rng.uniform(0, 10.5 * 3600))
        return min(at, self.now - timedelta(seconds=self.rng.uniform(1, 3600)))

    def later(self, at: datetime, most: float) -> datetime | None:
        """A moment up to ``most`` seconds after ``at``, or None if that is still to come."""
        then = at + timedelta(seconds=self.rng.uniform(1, most))
        return then if then <= self.now else None

    def record(  # noqa: PLR0917 - one row's columns
        self,
        body: dict[str, Any],
        commune: str,
        key: str,
        received: datetime,
        decision: DecisionState,
        corrects: uuid.UUID | None = None,
    ) -> tuple[Any, ...]:
        rng = self.rng
        decided = None if decision == DecisionState.RECEIVED else self.later(received, 7200)
        if decided is None:
            decision = DecisionState.RECEIVED
        reasons: list[dict[str, str]] = []
        if decision == DecisionState.REJECTED:
            code, detail = rng.choice(_REJECTING)
            reasons = [{"code": code, "detail": detail}]
        elif decision == DecisionState.DEAD_LETTERED:
            code = rng.choices(_DEAD_LETTERING, _DEAD_LETTERING_WEIGHTS)[0]
            reasons = [{"code": code, "detail": ""}]
        sync_state = sync_reason = error = national_id = synced = None
        if decision == DecisionState.ACCEPTED and decided is not None:
            draw = rng.random()
            synced = self.later(decided, 3 * 86400)
            if draw < _SYNC[0][1] and synced is not None:
                sync_state, national_id = SyncState.SYNCED, f"VN-{rng.randrange(10**9):09d}"
            elif draw < _SYNC[0][1] + _SYNC[1][1] or synced is None:
                sync_state, synced = SyncState.PENDING, None
            else:
                sync_state, synced = SyncState.FAILED, None
                sync_reason = rng.choice(("sync_rejected", "sync_exhausted"))
                error = "HTTP 422: parcel unknown" if sync_reason == "sync_rejected" else "timeout"
        text = orjson.dumps(body)
        record_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        return (
            record_id, body["submission_id"], hashlib.sha256(text).digest(), commune, key,
            text.decode(), str(decision), orjson.dumps(reasons).decode(), "[]", "bench",
            received, decided, sync_state and str(sync_state), int(sync_state is not None),
            error, national_id, synced, synced or decided or received,
            1 if decision == DecisionState.ACCEPTED else None, decided, sync_reason, corrects,
        )  # fmt: skip

    def first_decision(self) -> DecisionState:
        draw = self.rng.random()
        for decision, share in _FIRST:
            if draw < share:
                return decision
            draw -= share
        return DecisionState.DEAD_LETTERED if draw < _DEAD else DecisionState.RECEIVED


def _case(parcel: _Parcel) -> tuple[Any, ...]:
    """The case row of a parcel, from its records in decision order (CONTRACT §6)."""
    rows = parcel.rows
    decided = sorted((r for r in rows if r[11] is not None), key=lambda r: (r[11], r[0]))
    good = [r for r in decided if r[6] in {DecisionState.ACCEPTED, DecisionState.DUPLICATE}]
    latest = decided[-1] if decided else None
    reasons: list[str] = []
    if good:
        state = CaseState.CLEANED
    elif parcel.corrected_by is not None:
        state = CaseState.CORRECTED
    elif latest is not None and latest[6] in {DecisionState.REJECTED, DecisionState.DEAD_LETTERED}:
        state, reasons = CaseState.OPEN, [r["code"] for r in orjson.loads(latest[7])]
    else:
        state = CaseState.PENDING
    synced = [r[16] for r in rows if r[16] is not None]
    return (
        parcel.key, parcel.commune, str(state), reasons,
        latest[0] if latest else None, latest[11] if latest else None,
        min(r[10] for r in rows), good[0][11] if good else None,
        min(synced) if synced and good else None, parcel.corrected_by,
        max(r[17] for r in rows),
    )  # fmt: skip


def start_of(now: datetime) -> datetime:
    """The campaign's first day: the ledger's 90 days end today."""
    return (now - timedelta(days=DAYS - 1)).replace(hour=0, minute=0, second=0, microsecond=0)


def ledger(
    total: int, *, commune_count: int = 200, seed: int = 1, now: datetime
) -> Iterator[Commune]:
    """``total`` records (give or take a commune's last parcel) in ``commune_count`` communes.

    One commune at a time, so 700,000 records never sit in memory together.
    """
    rng = random.Random(seed)  # noqa: S311 - made-up data, not secrets
    write = _Writer(rng, start_of(now), now)
    codes = commune_codes(commune_count)
    for n, commune in enumerate(codes):
        budget = total // len(codes) + (n < total % len(codes))
        parcels = _commune(write, commune, budget, seed)
        yield Commune(
            commune,
            [r for p in parcels for r in p.rows],
            [_case(p) for p in parcels],
            max(1, round(len(parcels) * rng.uniform(0.85, 1.2))),
        )


def _commune(write: _Writer, commune: str, budget: int, seed: int) -> list[_Parcel]:
    """The parcels of one commune, with ``budget`` records between them."""
    rng, left = write.rng, budget
    parcels: list[_Parcel] = []
    # More bodies than parcels: corrections to another parcel take a body of their own.
    bodies: Iterator[dict[str, Any]] = records(commune, budget * 2, seed=seed, run="bench")
    while left > 0:
        body = next(bodies)
        sheet, number = body["parcel"]["map_sheet"], body["parcel"]["parcel_no"]
        parcel = _Parcel(parcel_key(commune, sheet, number), commune)
        parcels.append(parcel)
        received = write.arrival()
        first = write.record(body, commune, parcel.key, received, write.first_decision())
        parcel.rows.append(first)
        left -= 1
        decided = first[11]
        if left and first[6] == DecisionState.ACCEPTED and rng.random() < _DUPLICATE:
            again = write.later(decided, 20 * 86400)
            if again is not None:
                copy = {**body, "submission_id": f"{body['submission_id']}-again"}
                parcel.rows.append(
                    write.record(copy, commune, parcel.key, again, DecisionState.DUPLICATE)
                )
                left -= 1
        if left and first[6] == DecisionState.REJECTED and rng.random() < _CORRECTED:
            fixed_at = write.later(decided, 12 * 86400)
            if fixed_at is None:
                continue
            outcome = DecisionState.ACCEPTED if rng.random() < 0.85 else DecisionState.REJECTED
            fix = {**body, "submission_id": f"{body['submission_id']}-fix"}
            target = parcel
            if rng.random() < _NEW_PARCEL:  # the sheet or parcel number itself was wrong
                fix = {**next(bodies), "submission_id": f"{body['submission_id']}-fix"}
                p = fix["parcel"]
                target = _Parcel(parcel_key(commune, p["map_sheet"], p["parcel_no"]), commune)
                parcels.append(target)
            row = write.record(fix, commune, target.key, fixed_at, outcome, corrects=first[0])
            target.rows.append(row)
            if target is not parcel and row[11] is not None:
                parcel.corrected_by = row[0]
            left -= 1
    return parcels
