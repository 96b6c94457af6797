"""The reconciliation rules of docs/reconciliation.md over the generator's facts: the truth labels.

Independent of the reconcile service on purpose: the truth file checks that service.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from rapidfuzz.distance import DamerauLevenshtein

from shared.generate.facts import CertificateRow, Certificates, Person, Registry, fold
from shared.generate.ids import prefix_mismatch
from shared.normalize import clean_name, scan_key, serial_key

# The 2024 table (Circular 08/2024) and the legacy codes still met in live data.
LAND_USE_CODES = frozenset(
    (
        *("ONT", "ODT", "LUC", "LUK", "HNK", "CLN", "RSX", "RPH", "RDD", "NTS", "CNT", "LMU"),
        *("NKH", "TMD", "SKC", "DGT", "DTL", "TON", "TIN", "NTD", "SON", "MNC", "BCS", "DCS"),
        *("NCS", "BHK", "NHK", "LUA", "CHN", "OTC", "LNK", "LNC", "LNQ", "RST"),
    )
)
REJECTING = frozenset(
    {
        "incomplete",
        "invalid_land_use",
        "scan_name_mismatch",
        "certificate_not_found",
        "certificate_parcel_mismatch",
        "certificate_superseded",
        "duplicate_conflict",
    }
)
OWNER_REASONS = frozenset({"owner_unresolved", "owner_deceased", "owner_absent", "holder_mismatch"})
_NOT_PLOT = ("submission_id", "scan_file", "template_version")
_OWNER_FIELDS = ("full_name", "date_of_birth", "sex", "role")


@dataclass(frozen=True, slots=True)
class ParcelState:
    """The parcel's last accepted version."""

    version: int
    content: bytes
    serial_key: str
    parcel: tuple[str, int, int]


@dataclass(frozen=True, slots=True)
class Verdict:
    """A record's expected outcome, reason codes and warning codes (sorted)."""

    outcome: str
    reasons: list[str]
    warnings: list[str]


def plot_content(record: dict[str, Any]) -> bytes:
    """The plot part of a record, canonical: what the plot hash is taken of."""
    plot = {k: v for k, v in record.items() if k not in _NOT_PLOT}
    return orjson.dumps(plot, option=orjson.OPT_SORT_KEYS)


def _missing(value: Any) -> bool:  # noqa: ANN401 - a JSON value
    return value is None or value in ("", [])


def _absent(value: dict[str, Any], fields: Iterable[str], path: str = "") -> list[str]:
    """The paths (``path`` then the field) of the ``fields`` that ``value`` lacks."""
    return [f"{path}{f}" for f in fields if _missing(value.get(f))]


def _absent_in_items(items: list[dict[str, Any]], fields: Iterable[str], path: str) -> list[str]:
    """``path`` itself when there is no item, else the fields each item lacks."""
    if not items:
        return [path]
    return [p for i, item in enumerate(items) for p in _absent(item, fields, f"{path}[{i}].")]


def missing_fields(record: dict[str, Any]) -> list[str]:
    """The mandatory paths of the completeness profile that are absent, null or empty."""
    parcel = record["parcel"]
    return [
        *_absent(record, ("holder_type", "collection_status", "scan_file")),
        *_absent(record.get("certificate") or {}, ("serial", "issued_on"), "certificate."),
        *_absent(parcel, ("area_m2",), "parcel."),
        *_absent_in_items(parcel.get("land_uses") or [], ("code", "area_m2"), "parcel.land_uses"),
        *_absent_in_items(record.get("owners") or [], _OWNER_FIELDS, "owners"),
    ]


def _land_use_invalid(parcel: dict[str, Any]) -> bool:
    uses = parcel.get("land_uses") or []
    if any(not _missing(u.get("code")) and u["code"] not in LAND_USE_CODES for u in uses):
        return True
    areas = [u.get("area_m2") for u in uses]
    total = parcel.get("area_m2")
    if not uses or total is None or any(a is None for a in areas):
        return False  # the sum cannot be checked; `incomplete` rejects the record
    return bool(abs(sum(a for a in areas if a is not None) - total) > 0.1 + 1e-9)


def _names_match(given: str, registered: str) -> tuple[bool, bool]:
    """(matches, only as a variant) per the name rule."""
    if clean_name(given) == clean_name(registered):
        return True, False
    a, b = fold(given), fold(registered)
    if a == b:
        return True, True
    close = len(a.split()) == len(b.split()) and DamerauLevenshtein.distance(a, b) <= 2
    return close, close


def _usable_id(value: Any, digits: int) -> str | None:  # noqa: ANN401 - a JSON value
    return value if isinstance(value, str) and len(value) == digits and value.isdigit() else None


def resolve_owner(owner: dict[str, Any], registry: Registry, warnings: set[str]) -> Person | None:
    """The resident an owner resolves to per the owner rules, or None (``owner_unresolved``)."""
    name, born = owner["full_name"], owner["date_of_birth"]
    pid = _usable_id(owner.get("personal_id"), 12)
    legacy = _usable_id(owner.get("legacy_id"), 9)
    found = registry.by_id.get(pid) if pid else None
    if found is None and legacy:
        found = registry.by_legacy.get(legacy)
    if found is not None:
        matches, variant = _names_match(name, found.full_name)
        if not matches or born != found.date_of_birth:
            return None
        if variant:
            warnings.add("name_variant")
        return found
    candidate = registry.by_name_dob.get((fold(name), born))
    if candidate is not None:
        warnings.add("id_recovered")
        if clean_name(name) != clean_name(candidate.full_name):
            warnings.add("name_variant")
    return candidate


def _certificate(
    record: dict[str, Any], certificates: Certificates, reasons: set[str]
) -> tuple[str | None, list[CertificateRow], CertificateRow | None]:
    """(serial key, the serial's rows for this parcel, the usable row); adds the reason."""
    serial = (record.get("certificate") or {}).get("serial")
    if not isinstance(serial, str) or not serial:
        return None, [], None
    key = serial_key(serial)
    rows = certificates.by_key.get(key, [])
    if not rows:
        reasons.add("certificate_not_found")
        return key, rows, None
    matching = [r for r in rows if (r.commune_code, r.map_sheet, r.parcel_no) == printed(record)]
    if not matching:
        reasons.add("certificate_parcel_mismatch")
        return key, [], None
    if matching[0].status != "valid":
        reasons.add("certificate_superseded")
        return key, matching, None
    return key, matching, matching[0]


def printed(record: dict[str, Any]) -> tuple[str, int, int]:
    """The parcel as printed on the certificate, each part falling back to the current map."""
    p = record["parcel"]
    return (
        p.get("old_commune_code") or record["commune_code"],
        p.get("certificate_map_sheet") or p["map_sheet"],
        p.get("certificate_parcel_no") or p["parcel_no"],
    )


def label(
    record: dict[str, Any],
    registry: Registry,
    certificates: Certificates,
    state: ParcelState | None,
) -> Verdict:
    """The decision the rules give this record, given the facts and the parcel's state."""
    reasons = _form_reasons(record)
    warnings: set[str] = set()
    key, rows, usable = _certificate(record, certificates, reasons)
    _owner_reasons(record, registry, rows, usable, reasons=reasons, warnings=warnings)
    if any(r.mortgage_active for r in rows):
        reasons.add("mortgaged")
    if state is not None:
        if plot_content(record) == state.content:
            return Verdict("duplicate", ["duplicate"], [])
        if usable is not None and key != state.serial_key and _superseded(state, certificates):
            warnings.add("supersedes_previous")
        else:
            reasons.add("duplicate_conflict")
    return Verdict(_outcome(reasons), sorted(reasons), sorted(warnings))


def _form_reasons(record: dict[str, Any]) -> set[str]:
    """Completeness and the form checks."""
    reasons: set[str] = set()
    if missing_fields(record):
        reasons.add("incomplete")
    if _land_use_invalid(record["parcel"]):
        reasons.add("invalid_land_use")
    serial = (record.get("certificate") or {}).get("serial")
    scan = record.get("scan_file")
    both = isinstance(serial, str) and serial and isinstance(scan, str) and scan
    if both and scan_key(str(scan)) != serial_key(str(serial)):
        reasons.add("scan_name_mismatch")
    return reasons


def _owner_reasons(
    record: dict[str, Any],
    registry: Registry,
    rows: list[CertificateRow],
    usable: CertificateRow | None,
    *,
    reasons: set[str],
    warnings: set[str],
) -> None:
    """The owner and holder checks, and the reasons the collection status gives."""
    holders = {h for r in rows for h in r.holder_ids}
    for owner in record.get("owners") or []:
        pid = owner.get("personal_id")
        # The ID digits are compared with what the form states, whatever else it lacks.
        if pid and prefix_mismatch(pid, owner.get("date_of_birth"), owner.get("sex")):
            warnings.add("id_prefix_mismatch")
        if _missing(owner.get("full_name")) or _missing(owner.get("date_of_birth")):
            continue
        resident = resolve_owner(owner, registry, warnings)
        if resident is None:
            reasons.add("owner_unresolved")
        elif resident.status == "deceased":
            reasons.add("owner_deceased")
        elif usable is not None and resident.personal_id not in holders:
            reasons.add("holder_mismatch")
    status = record.get("collection_status")
    if status == "owner_absent":
        reasons.add("owner_absent")
    elif status == "owner_deceased":
        reasons.add("owner_deceased")
    elif status == "lost_or_mortgaged":
        reasons.add("mortgaged")


def _superseded(state: ParcelState, certificates: Certificates) -> bool:
    rows = certificates.by_key.get(state.serial_key, [])
    matching = [r for r in rows if (r.commune_code, r.map_sheet, r.parcel_no) == state.parcel]
    return any(r.status in ("revoked", "replaced") for r in matching or rows)


def _outcome(reasons: set[str]) -> str:
    if reasons & REJECTING:
        return "rejected"
    if reasons:
        return "dead_lettered"
    return "accepted"
