"""The generator's in-memory registry and certificates: what the truth labels are derived from."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from shared.normalize import fold_name, serial_key

fold = lru_cache(maxsize=500_000)(fold_name)


@dataclass(slots=True)
class Person:
    """A resident (or, when not registered, someone the registry does not know)."""

    personal_id: str
    legacy_id: str | None
    full_name: str
    date_of_birth: str
    sex: str
    commune_code: str
    status: str = "alive"


@dataclass(slots=True)
class CertificateRow:
    """One (certificate, parcel) row of certificates.csv; the parcel as printed."""

    serial: str
    book_number: str
    issued_on: str
    commune_code: str
    map_sheet: int
    parcel_no: int
    holder_ids: list[str]
    status: str = "valid"
    mortgage_bank: str | None = None
    mortgage_registered_on: str | None = None
    mortgage_released_on: str | None = None

    @property
    def key(self) -> str:
        """The serial's lookup key."""
        return serial_key(self.serial)

    @property
    def mortgage_active(self) -> bool:
        """A mortgage is registered and not released."""
        return bool(self.mortgage_registered_on) and not self.mortgage_released_on


@dataclass
class Registry:
    """Residents by personal ID, by legacy ID, and by (folded name, birth date)."""

    by_id: dict[str, Person] = field(default_factory=dict)
    by_legacy: dict[str, Person] = field(default_factory=dict)
    # None marks a (name, birth date) shared by several residents: no unique recovery.
    by_name_dob: dict[tuple[str, str], Person | None] = field(default_factory=dict)

    def add(self, person: Person) -> None:
        """Register a resident."""
        self.by_id[person.personal_id] = person
        if person.legacy_id:
            self.by_legacy[person.legacy_id] = person
        key = (fold(person.full_name), person.date_of_birth)
        self.by_name_dob[key] = None if key in self.by_name_dob else person


@dataclass
class Certificates:
    """Certificate rows by serial key."""

    by_key: dict[str, list[CertificateRow]] = field(default_factory=dict)

    def add(self, row: CertificateRow) -> None:
        """Index a row."""
        self.by_key.setdefault(row.key, []).append(row)
