"""The campaign's error types and how often each is injected (a share of plot records)."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Rates:
    """Per-record probabilities of each injected error; at most one per record.

    The defaults give roughly the campaign's picture: about 95 % of decided records accepted.
    """

    missing_fields: float = 0.006
    certificate_typo: float = 0.004
    wrong_parcel: float = 0.003
    superseded_certificate: float = 0.002
    owner_not_in_registry: float = 0.004
    name_typo: float = 0.004
    name_garbled: float = 0.001
    no_diacritics: float = 0.012
    swapped_characters: float = 0.004
    wrong_birth_date: float = 0.002
    deceased_owner: float = 0.003
    not_holder: float = 0.002
    mortgaged: float = 0.008
    held_by_bank: float = 0.001
    owner_absent: float = 0.003
    reported_deceased: float = 0.001
    bad_scan_name: float = 0.003
    bad_land_use_code: float = 0.002
    area_mismatch: float = 0.002
    no_id: float = 0.02
    legacy_id_only: float = 0.04
    namesake: float = 0.001
    # Per resident, not per record: a personal ID recorded with wrong year or sex digits.
    id_prefix_mismatch: float = 0.004
    # Extra records, per accepted original: identical and conflicting re-submissions.
    duplicate: float = 0.01
    duplicate_conflict: float = 0.003
    # Second phase, per accepted parcel: certificate replaced, then the parcel re-submitted.
    reissue: float = 0.01
    # Corrections, per rejected record with an injected error: the commune fixes and resubmits.
    correction: float = 0.6

    @classmethod
    def names(cls) -> list[str]:
        """The rate names, in declaration order."""
        return [f.name for f in fields(cls)]


#: The rates drawn per record (one at most), as opposed to per resident or extra records.
RECORD_ERRORS = Rates.names()[: Rates.names().index("namesake") + 1]
