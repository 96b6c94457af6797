"""The campaign's errors, injected into one plot's record (and, for some, into the registry)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from shared.generate import names
from shared.generate.facts import Person, Registry
from shared.generate.households import person
from shared.generate.ids import IdAllocator
from shared.generate.land import BANKS, Plot, predecessor
from shared.generate.records import certificate_part, scan_name
from shared.generate.serials import SerialAllocator

_OPTIONAL_PATHS = (
    "holder_type", "collection_status", "scan_file", "certificate.serial", "certificate.issued_on",
    "parcel.area_m2", "parcel.land_uses", "land_use.code", "land_use.area_m2", "owners",
    "owner.full_name", "owner.date_of_birth", "owner.sex", "owner.role",
)  # fmt: skip
_BAD_CODES = ("OTN", "LUX", "CNL", "HNN", "ĐẤT Ở", "ONT-1")


@dataclass
class Scene:
    """What an injection may read and change: the plot, its record, the registry, the IDs."""

    rng: random.Random
    plot: Plot
    record: dict[str, Any]
    registry: Registry
    ids: IdAllocator
    serials: SerialAllocator
    added_residents: list[Person] = field(default_factory=list)

    @property
    def first_owner(self) -> dict[str, Any]:
        """The first owner row of the record."""
        first: dict[str, Any] = self.record["owners"][0]
        return first

    def single_parcel(self) -> bool:
        """The plot's certificate covers this parcel only (a change to it touches no other)."""
        return len(self.plot.certificate) == 1


def missing_fields(s: Scene) -> bool:
    """Blank one or two mandatory fields."""
    for path in s.rng.sample(_OPTIONAL_PATHS, 1 if s.rng.random() < 0.8 else 2):
        group, _, name = path.partition(".")
        r = s.record
        if not name:
            r[group] = [] if group == "owners" else None
        elif group == "land_use":
            s.rng.choice(r["parcel"]["land_uses"] or [{}])[name] = None
        elif group == "owner":
            (r["owners"] or [{}])[0][name] = None
        elif group == "parcel" and name == "land_uses":
            r["parcel"]["land_uses"] = []
        else:
            r[group][name] = None
    return True


def certificate_typo(s: Scene) -> bool:
    """One digit of the serial mistyped (on the form and the scan's name alike)."""
    serial = s.record["certificate"]["serial"]
    digits = [i for i, c in enumerate(serial) if c.isdigit()]
    for _ in range(20):
        at = s.rng.choice(digits)
        typo = serial[:at] + s.rng.choice("0123456789".replace(serial[at], "")) + serial[at + 1 :]
        if s.serials.reserve(typo):  # reserved: no later certificate may take the typo's serial
            s.record["certificate"]["serial"] = typo
            s.record["scan_file"] = scan_name(typo)
            return True
    return False


def wrong_parcel(s: Scene) -> bool:
    """The certificate's parcel number copied wrongly."""
    parcel = s.record["parcel"]
    parcel["certificate_parcel_no"] = parcel["certificate_parcel_no"] + s.rng.randrange(1, 15)
    return True


def superseded_certificate(s: Scene) -> bool:
    """The form quotes a certificate that was replaced, or the current one was revoked."""
    if s.single_parcel() and s.rng.random() < 0.3:
        s.plot.certificate[0].status = "revoked"
        return True
    old = predecessor(s.rng, s.serials, s.plot.row)
    s.plot.history.append(old)
    s.record["certificate"] = certificate_part(s.rng, old)
    s.record["scan_file"] = scan_name(s.record["certificate"]["serial"])
    return True


def _replace_first_owner(s: Scene, who: Person) -> None:
    s.first_owner.update(
        full_name=who.full_name,
        personal_id=who.personal_id,
        date_of_birth=who.date_of_birth,
        sex=who.sex,
    )
    s.first_owner.pop("legacy_id", None)


def owner_not_in_registry(s: Scene) -> bool:
    """The holder is someone the population registry does not have."""
    if not s.single_parcel():
        return False
    old = s.plot.holders[0][0]
    born = date.fromisoformat(old.date_of_birth)
    stranger = person(s.rng, s.ids, old.commune_code, old.sex, born)
    s.plot.certificate[0].holder_ids[0] = stranger.personal_id
    _replace_first_owner(s, stranger)
    return True


def _rename(change: Callable[[random.Random, str], str]) -> Callable[[Scene], bool]:
    def inject(s: Scene) -> bool:
        s.first_owner["full_name"] = change(s.rng, s.first_owner["full_name"])
        return True

    inject.__doc__ = change.__doc__
    return inject


def wrong_birth_date(s: Scene) -> bool:
    """The birth date copied wrongly: a few days off, or the year off by one."""
    born = date.fromisoformat(s.first_owner["date_of_birth"])
    if s.rng.random() < 0.3:
        wrong = born.replace(year=born.year + s.rng.choice((-1, 1)), day=min(born.day, 28))
    else:
        wrong = born + timedelta(days=s.rng.choice((-1, 1)) * s.rng.randrange(1, 28))
    s.first_owner["date_of_birth"] = wrong.isoformat()
    return True


def deceased_owner(s: Scene) -> bool:
    """The registry has the holder as deceased."""
    s.plot.holders[0][0].status = "deceased"
    return True


def not_holder(s: Scene) -> bool:
    """The form names a family member who is not on the certificate."""
    holders = {p.personal_id for p, _ in s.plot.holders}
    others = [p for p in s.plot.household.members if p.personal_id not in holders]
    others = [p for p in others if p.status == "alive" and p.date_of_birth < "2007-01-01"]
    if not others:
        return False
    _replace_first_owner(s, s.rng.choice(others))
    return True


def mortgaged(s: Scene) -> bool:
    """An active mortgage is registered on the certificate."""
    issued = date.fromisoformat(s.plot.certificate[0].issued_on)
    since = min(issued + timedelta(days=s.rng.randrange(100, 3000)), date(2025, 6, 1))
    bank = s.rng.choice(BANKS)
    for row in s.plot.certificate:
        row.mortgage_bank, row.mortgage_registered_on = bank, since.isoformat()
        row.mortgage_released_on = None
    return True


def _status(value: str) -> Callable[[Scene], bool]:
    def inject(s: Scene) -> bool:
        s.record["collection_status"] = value
        return True

    return inject


def bad_scan_name(s: Scene) -> bool:
    """The scan is named after something other than the serial."""
    n = s.rng.randrange(1, 99_999)
    s.record["scan_file"] = s.rng.choice((f"scan_{n:05d}.pdf", f"IMG_2025{n:05d}.jpg", f"{n}.pdf"))
    return True


def bad_land_use_code(s: Scene) -> bool:
    """A land-use code that is in no table."""
    s.record["parcel"]["land_uses"][0]["code"] = s.rng.choice(_BAD_CODES)
    return True


def area_mismatch(s: Scene) -> bool:
    """The parcel area does not equal the sum of the use areas."""
    parcel = s.record["parcel"]
    parcel["area_m2"] = round(parcel["area_m2"] + s.rng.uniform(1, 50), 1)
    return True


def no_id(s: Scene) -> bool:
    """No ID on the form: the owner must be recovered by name and birth date."""
    s.first_owner.pop("personal_id", None)
    s.first_owner.pop("legacy_id", None)
    return True


def legacy_id_only(s: Scene) -> bool:
    """Only the old 9-digit CMND on the form."""
    for row, (p, _) in zip(s.record["owners"], s.plot.holders, strict=True):
        if p.legacy_id:
            row.pop("personal_id", None)
            row["legacy_id"] = p.legacy_id
            return True
    return False


def namesake(s: Scene) -> bool:
    """No ID on the form, and someone else has the same name and birth date."""
    no_id(s)
    holder = s.plot.holders[0][0]
    born = date.fromisoformat(holder.date_of_birth)
    twin = person(s.rng, s.ids, holder.commune_code, holder.sex, born)
    twin.full_name = holder.full_name
    s.registry.add(twin)
    s.added_residents.append(twin)
    return True


INJECTIONS: dict[str, Callable[[Scene], bool]] = {
    "missing_fields": missing_fields,
    "certificate_typo": certificate_typo,
    "wrong_parcel": wrong_parcel,
    "superseded_certificate": superseded_certificate,
    "owner_not_in_registry": owner_not_in_registry,
    "name_typo": _rename(names.substitute_letter),
    "name_garbled": _rename(names.garble),
    "no_diacritics": _rename(lambda _rng, name: names.without_diacritics(name)),
    "swapped_characters": _rename(names.swap_adjacent),
    "wrong_birth_date": wrong_birth_date,
    "deceased_owner": deceased_owner,
    "not_holder": not_holder,
    "mortgaged": mortgaged,
    "held_by_bank": _status("lost_or_mortgaged"),
    "owner_absent": _status("owner_absent"),
    "reported_deceased": _status("owner_deceased"),
    "bad_scan_name": bad_scan_name,
    "bad_land_use_code": bad_land_use_code,
    "area_mismatch": area_mismatch,
    "no_id": no_id,
    "legacy_id_only": legacy_id_only,
    "namesake": namesake,
}
