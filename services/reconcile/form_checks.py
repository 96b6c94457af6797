"""Checks on the form itself: mandatory fields, land uses, the scan file's name."""

from __future__ import annotations

from services.reconcile.findings import Finding
from services.reconcile.land_use import ACCEPTED_CODES, AREA_TOLERANCE
from shared.normalize import scan_key, serial_key
from shared.reasons import Reason
from shared.records import Form01Record

_OWNER_FIELDS = ("full_name", "date_of_birth", "sex", "role")


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def missing_fields(record: Form01Record) -> list[str]:
    """Paths of the mandatory fields (docs/reconciliation.md) that the record lacks."""
    missing = [
        f for f in ("holder_type", "collection_status", "scan_file") if _blank(getattr(record, f))
    ]
    certificate = record.certificate
    missing += [
        f"certificate.{name}"
        for name in ("serial", "issued_on")
        if certificate is None or _blank(getattr(certificate, name))
    ]
    if record.parcel.area_m2 is None:
        missing.append("parcel.area_m2")
    if not record.parcel.land_uses:
        missing.append("parcel.land_uses")
    for i, use in enumerate(record.parcel.land_uses):
        missing += [
            f"parcel.land_uses[{i}].{f}" for f in ("code", "area_m2") if _blank(getattr(use, f))
        ]
    if not record.owners:
        missing.append("owners")
    for i, owner in enumerate(record.owners):
        missing += [f"owners[{i}].{f}" for f in _OWNER_FIELDS if _blank(getattr(owner, f))]
    return missing


def land_use_problem(record: Form01Record) -> Finding | None:
    """``invalid_land_use`` for an unknown code or areas that do not add up to the parcel's."""
    uses = record.parcel.land_uses
    unknown = sorted(
        {u.code for u in uses if u.code and u.code.strip().upper() not in ACCEPTED_CODES}
    )
    if unknown:
        return Finding(Reason.INVALID_LAND_USE, f"unknown land-use code(s): {', '.join(unknown)}")
    areas = [u.area_m2 for u in uses]
    total = record.parcel.area_m2
    if total is None or not uses or any(a is None for a in areas):
        return None  # incomplete already says so
    used = sum(a for a in areas if a is not None)
    if abs(used - total) > AREA_TOLERANCE:
        return Finding(
            Reason.INVALID_LAND_USE,
            f"land-use areas add up to {used:.1f} m², the parcel has {total:.1f} m²",
        )
    return None


def scan_name_problem(record: Form01Record) -> Finding | None:
    """``scan_name_mismatch`` when the scan file is not named after the certificate serial."""
    serial = record.certificate.serial if record.certificate else None
    if not serial or not record.scan_file:
        return None
    if scan_key(record.scan_file) != serial_key(serial):
        return Finding(Reason.SCAN_NAME_MISMATCH, "the scan file is not named after the serial")
    return None
