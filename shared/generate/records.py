"""Form 01 records for plots, as a commune's officials fill them in."""

from __future__ import annotations

import random
from typing import Any

from shared.generate.facts import CertificateRow, Person
from shared.generate.land import Commune, Plot
from shared.normalize import fold_name


def slug(name: str) -> str:
    """The commune part of submission IDs: "Tân Yên" → "tan-yen"."""
    return fold_name(name).replace(" ", "-")


def owner(
    rng: random.Random, person: Person, role: str, commune: Commune, village: str
) -> dict[str, Any]:
    """An owner row: the person as the registry knows them, sometimes with the old CMND too."""
    row: dict[str, Any] = {"full_name": person.full_name, "personal_id": person.personal_id}
    if person.legacy_id and rng.random() < 0.3:
        row["legacy_id"] = person.legacy_id
    row |= {
        "date_of_birth": person.date_of_birth,
        "sex": person.sex,
        "role": role,
        "address": f"Thôn {village}, {commune.title}, tỉnh Bắc Ninh",
    }
    return row


def printed_serial(rng: random.Random, serial: str) -> str:
    """The serial as typed on the form: mostly as printed, sometimes without the space."""
    return serial.replace(" ", "") if rng.random() < 0.05 else serial


def certificate_part(rng: random.Random, row: CertificateRow) -> dict[str, Any]:
    """The certificate group of the form."""
    serial = printed_serial(rng, row.serial)
    return {"serial": serial, "book_number": row.book_number, "issued_on": row.issued_on}


def scan_name(serial: str) -> str:
    """The scan's file name: the serial without spaces."""
    return f"{serial.replace(' ', '')}.pdf"


def form01(rng: random.Random, plot: Plot, commune: Commune, submission_id: str) -> dict[str, Any]:
    """A correct Form 01 record of the plot."""
    row = plot.row
    cert = certificate_part(rng, row)
    old_code, sheet, parcel = plot.printed
    merged = old_code != commune.code
    return {
        "submission_id": submission_id,
        "commune_code": commune.code,
        "template_version": "PL3-49" if rng.random() < 0.9 else "PL3-38",
        "certificate": cert,
        "holder_type": plot.holder_type,
        "owners": [owner(rng, p, role, commune, plot.village) for p, role in plot.holders],
        "parcel": {
            "map_sheet": plot.map_sheet,
            "parcel_no": plot.parcel_no,
            "certificate_map_sheet": sheet,
            "certificate_parcel_no": parcel,
            "old_commune_code": old_code if merged else None,
            "address": f"Thôn {plot.village}, {commune.title}",
            "area_m2": plot.area,
            "land_uses": [
                {"code": c, "area_m2": a, "origin": o, "term": t} for c, a, o, t in plot.uses
            ],
        },
        "collection_status": "supplied",
        "scan_file": scan_name(cert["serial"]),
    }
