"""The facts a decision rests on, fetched per batch: residents, certificates, parcel state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
