"""Owner checks: find each owner in the registry and verify who they are (reconciliation.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from rapidfuzz.distance import DamerauLevenshtein

from services.reconcile.facts import Facts, Resident
from shared.normalize import clean_name, fold_name
from shared.records import Owner

_PERSONAL_ID = re.compile(r"^[0-9]{12}$")  # not \d: it takes any script's digits
_LEGACY_ID = re.compile(r"^[0-9]{9}$")
MAX_NAME_DISTANCE = 2  # a typo or two swapped letters, never a different name


@dataclass
class OwnerCheck:
    """What the registry says of one owner."""

    resident: Resident | None = None
    unresolved: str | None = None  # why not, when the owner could not be verified
    name_variant: bool = False
    recovered: bool = False


def _name_matches(stated: str, registered: Resident) -> tuple[bool, bool]:
    """(matches, only as a variant) for a stated name against a registry entry."""
    if clean_name(stated) == clean_name(registered.full_name):
        return True, False
    folded = fold_name(stated)
    if folded == registered.name_key:
        return True, True
    close = (
        len(folded.split()) == len(registered.name_key.split())
        and DamerauLevenshtein.distance(folded, registered.name_key) <= MAX_NAME_DISTANCE
    )
    return close, close


def _by_id(owner: Owner, facts: Facts) -> Resident | None:
    personal_id, legacy_id = owner.personal_id or "", owner.legacy_id or ""
    found = facts.residents_by_id.get(personal_id) if _PERSONAL_ID.match(personal_id) else None
    if found is None and _LEGACY_ID.match(legacy_id):
        found = facts.residents_by_legacy_id.get(legacy_id)
    return found


def check_owner(owner: Owner, name: str, born: date, facts: Facts) -> OwnerCheck:
    """Resolve an owner by ID, else by a unique name and birth date; say why not if that fails.

    ``name`` and ``born`` are the owner's stated name and birth date (the caller skips owners
    without them: the record is incomplete).
    """
    resident = _by_id(owner, facts)
    if resident is not None:
        if resident.date_of_birth != born:
            return OwnerCheck(unresolved="the birth date differs from the registry's")
        matches, variant = _name_matches(name, resident)
        if not matches:
            return OwnerCheck(unresolved="the name differs from the registry's")
        return OwnerCheck(resident=resident, name_variant=variant)
    # No usable ID, or IDs the registry does not know: only a unique name + birth date will do.
    candidates = facts.residents_by_name.get((fold_name(name), born), ())
    if len(candidates) == 1:
        found = candidates[0]
        variant = clean_name(name) != clean_name(found.full_name)
        return OwnerCheck(resident=found, recovered=True, name_variant=variant)
    if candidates:
        return OwnerCheck(unresolved=f"{len(candidates)} residents share the name and birth date")
    return OwnerCheck(unresolved="not found in the population registry")


def id_prefix_mismatch(owner: Owner) -> bool:
    """The CCCD's century/sex digit or year digits disagree with the stated birth date or sex."""
    personal_id = owner.personal_id or ""
    if not _PERSONAL_ID.match(personal_id) or owner.date_of_birth is None:
        return False
    century_sex = int(personal_id[3])
    century = 1900 + 100 * (century_sex // 2)
    year_ok = owner.date_of_birth.year == century + int(personal_id[4:6])
    sex_ok = owner.sex is None or owner.sex == ("female" if century_sex % 2 else "male")
    return not (year_ok and sex_ok)
