"""The facts a decision rests on, fetched per batch: residents, certificates, parcel state."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID


@dataclass(frozen=True)
class Resident:
    """A person in the population registry extract."""

    personal_id: str
    legacy_id: str | None
    full_name: str
    name_key: str  # fold_name(full_name)
    date_of_birth: date
    sex: str
    status: str  # alive | deceased


@dataclass(frozen=True)
class CertificateRow:
    """One (certificate, parcel) row of the certificates extract."""

    serial: str
    serial_key: str
    commune_code: str
    map_sheet: int
    parcel_no: int
    holder_ids: tuple[str, ...]
    status: str  # valid | revoked | replaced
    mortgage_registered_on: date | None
    mortgage_released_on: date | None

    @property
    def mortgage_active(self) -> bool:
        """A mortgage is registered and not released."""
        return self.mortgage_registered_on is not None and self.mortgage_released_on is None


@dataclass(frozen=True)
class ParcelState:
    """The parcel's last accepted version."""

    version: int
    record_id: UUID
    plot_hash: bytes
    certificate_key: str | None


@dataclass(frozen=True)
class Facts:
    """Everything fetched for one batch, indexed the way the rules look things up."""

    residents_by_id: Mapping[str, Resident] = field(default_factory=dict)
    residents_by_legacy_id: Mapping[str, Resident] = field(default_factory=dict)
    residents_by_name: Mapping[tuple[str, date], Sequence[Resident]] = field(default_factory=dict)
    certificates: Mapping[str, Sequence[CertificateRow]] = field(default_factory=dict)
    certificates_by_parcel: Mapping[tuple[str, int, int], Sequence[CertificateRow]] = field(
        default_factory=dict
    )

    @classmethod
    def index(cls, residents: Iterable[Resident], certificates: Iterable[CertificateRow]) -> Facts:
        """Index fetched rows the way the rules look them up."""
        by_id: dict[str, Resident] = {}
        by_legacy_id: dict[str, Resident] = {}
        by_name: dict[tuple[str, date], list[Resident]] = {}
        for r in residents:
            by_id[r.personal_id] = r
            if r.legacy_id:
                by_legacy_id[r.legacy_id] = r
            by_name.setdefault((r.name_key, r.date_of_birth), []).append(r)
        by_serial: dict[str, list[CertificateRow]] = {}
        by_parcel: dict[tuple[str, int, int], list[CertificateRow]] = {}
        for c in certificates:
            by_serial.setdefault(c.serial_key, []).append(c)
            by_parcel.setdefault((c.commune_code, c.map_sheet, c.parcel_no), []).append(c)
        return cls(by_id, by_legacy_id, by_name, by_serial, by_parcel)
