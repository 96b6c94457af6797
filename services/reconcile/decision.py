"""The decision for one record: a pure function of the record and the facts fetched for it."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz.distance import DamerauLevenshtein

from services.reconcile.facts import CertificateRow, Facts, ParcelState, Resident
from services.reconcile.findings import Finding
from services.reconcile.form_checks import land_use_problem, missing_fields, scan_name_problem
from services.reconcile.owners import check_owner, id_prefix_mismatch
from shared.normalize import serial_key
from shared.reasons import Reason, WarningCode, route
from shared.records import Form01Record
from shared.states import DecisionState

_NOT_PLOT = {"submission_id", "scan_file", "template_version", "record_id", "corrects"}
_SUPERSEDED = frozenset({"revoked", "replaced"})


@dataclass(frozen=True)
class Decision:
    """What happens to a record, why, and (when accepted) which version of the parcel it is."""

    outcome: DecisionState
    reasons: tuple[Finding, ...]
    warnings: tuple[Finding, ...]
    plot_hash: bytes
    certificate_key: str | None
    version: int | None = None  # the parcel's version when accepted


def plot_hash(record: Form01Record) -> bytes:
    """Digest of what the record says about the plot (not of how it was submitted)."""
    return hashlib.sha256(record.model_dump_json(exclude=_NOT_PLOT).encode()).digest()


def certificate_parcel(record: Form01Record) -> tuple[str, int, int]:
    """The parcel as printed on the certificate (pre-merger commune, sheet and number)."""
    parcel = record.parcel
    return (
        parcel.old_commune_code or record.commune_code,
        parcel.certificate_map_sheet or parcel.map_sheet,
        parcel.certificate_parcel_no or parcel.parcel_no,
    )


@dataclass(frozen=True)
class _Certificate:
    finding: Finding | None = None
    rows: Sequence[CertificateRow] = ()  # this serial's rows for this parcel

    @property
    def usable(self) -> bool:
        """Found, for this parcel, and still valid: holders and mortgages can be checked."""
        return self.finding is None and bool(self.rows)


def _check_certificate(record: Form01Record, key: str, facts: Facts) -> _Certificate:
    rows = facts.certificates.get(key, ())
    here = certificate_parcel(record)
    if not rows:
        same_parcel = facts.certificates_by_parcel.get(here, ())
        near = sorted(
            {r.serial for r in same_parcel if DamerauLevenshtein.distance(r.serial_key, key) <= 2}
        )
        hint = f"; the likely intended serial is {near[0]}" if near else ""
        return _Certificate(Finding(Reason.CERTIFICATE_NOT_FOUND, f"no such serial{hint}"))
    mine = [r for r in rows if (r.commune_code, r.map_sheet, r.parcel_no) == here]
    if not mine:
        detail = "the certificate is registered for another parcel"
        return _Certificate(Finding(Reason.CERTIFICATE_PARCEL_MISMATCH, detail))
    if any(r.status in _SUPERSEDED for r in mine):
        detail = f"the certificate was {mine[0].status}"
        return _Certificate(Finding(Reason.CERTIFICATE_SUPERSEDED, detail), mine)
    return _Certificate(None, mine)


def _owner_findings(
    record: Form01Record, facts: Facts, holders: frozenset[str] | None
) -> tuple[list[Finding], list[Finding]]:
    reasons: list[Finding] = []
    warnings: set[WarningCode] = set()
    unresolved, deceased, not_holders = [], [], []
    for i, owner in enumerate(record.owners):
        if id_prefix_mismatch(owner):
            warnings.add(WarningCode.ID_PREFIX_MISMATCH)
        if not owner.full_name or owner.date_of_birth is None:
            continue  # incomplete
        check = check_owner(owner, owner.full_name, owner.date_of_birth, facts)
        warnings |= {WarningCode.NAME_VARIANT} if check.name_variant else set()
        warnings |= {WarningCode.ID_RECOVERED} if check.recovered else set()
        resident: Resident | None = check.resident
        if resident is None:
            unresolved.append(f"owners[{i}]: {check.unresolved}")
        elif resident.status == "deceased":
            deceased.append(f"owners[{i}]")
        elif holders is not None and resident.personal_id not in holders:
            not_holders.append(f"owners[{i}]")
    if unresolved:
        reasons.append(Finding(Reason.OWNER_UNRESOLVED, "; ".join(unresolved)))
    reasons += _status_findings(record, deceased)
    if not_holders:
        detail = f"not a holder of the certificate: {', '.join(not_holders)}"
        reasons.append(Finding(Reason.HOLDER_MISMATCH, detail))
    return reasons, [Finding(w) for w in sorted(warnings)]


def _status_findings(record: Form01Record, deceased: list[str]) -> list[Finding]:
    """Owner reasons from the registry's deaths and from the collection status."""
    found = []
    if deceased or record.collection_status == "owner_deceased":
        where = ", ".join(deceased) or "collection status"
        found.append(Finding(Reason.OWNER_DECEASED, f"deceased: {where}"))
    if record.collection_status == "owner_absent":
        found.append(Finding(Reason.OWNER_ABSENT, "collection status: owner absent"))
    return found


def _history(
    facts: Facts, parcel: ParcelState | None, key: str | None, *, usable: bool
) -> tuple[Finding | None, int]:
    """(a finding, the version this record would be) from the parcel's accepted history."""
    if parcel is None:
        return None, 1
    previous = facts.certificates.get(parcel.certificate_key or "", ())
    replaced = any(r.status in _SUPERSEDED for r in previous)
    if replaced and usable and key != parcel.certificate_key:
        return Finding(WarningCode.SUPERSEDES_PREVIOUS, f"replaces version {parcel.version}"), (
            parcel.version + 1
        )
    detail = f"version {parcel.version} was accepted with different content"
    return Finding(Reason.DUPLICATE_CONFLICT, detail), parcel.version + 1


def decide(record: Form01Record, facts: Facts, parcel: ParcelState | None) -> Decision:
    """Apply docs/reconciliation.md to one record."""
    digest = plot_hash(record)
    serial = record.certificate.serial if record.certificate else None
    key = serial_key(serial) if serial else None
    if parcel is not None and parcel.plot_hash == digest:
        found = Finding(Reason.DUPLICATE, f"identical to version {parcel.version}")
        return Decision(DecisionState.DUPLICATE, (found,), (), digest, key)
    reasons: list[Finding] = []
    warnings: list[Finding] = []
    if missing := missing_fields(record):
        reasons.append(Finding(Reason.INCOMPLETE, f"missing: {', '.join(missing)}"))
    reasons += [f for f in (land_use_problem(record), scan_name_problem(record)) if f]
    certificate = _check_certificate(record, key, facts) if key else _Certificate()
    if certificate.finding:
        reasons.append(certificate.finding)
    holders = (
        frozenset(h for r in certificate.rows for h in r.holder_ids) if certificate.usable else None
    )
    owner_reasons, owner_warnings = _owner_findings(record, facts, holders)
    reasons += owner_reasons
    warnings += owner_warnings
    if any(r.mortgage_active for r in certificate.rows) or (
        record.collection_status == "lost_or_mortgaged"
    ):
        reasons.append(Finding(Reason.MORTGAGED, "a mortgage is registered or the bank holds it"))
    history, version = _history(facts, parcel, key, usable=certificate.usable)
    if history is not None:
        (warnings if isinstance(history.code, WarningCode) else reasons).append(history)
    outcome, _ = route(frozenset(Reason(r.code) for r in reasons))
    return Decision(
        outcome,
        tuple(reasons),
        tuple(sorted(warnings, key=lambda w: w.code)),
        digest,
        key,
        version if outcome == DecisionState.ACCEPTED else None,
    )
