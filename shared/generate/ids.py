"""Personal IDs (CCCD, 12 digits) and legacy IDs (CMND, 9 digits) as DOMAIN.md describes them."""

from __future__ import annotations

import random
from collections.abc import Callable

# Birth-registration provinces: mostly the two merged ones (024 Bắc Giang, 027 Bắc Ninh), then
# neighbours and the big cities people are born in.
BIRTH_PROVINCES: dict[str, float] = {
    "024": 46, "027": 38, "001": 4, "030": 2, "033": 2, "019": 2, "020": 1.5, "022": 1.5,
    "026": 1, "038": 1, "040": 1,
}  # fmt: skip
_PROVINCES, _PROVINCE_WEIGHTS = list(BIRTH_PROVINCES), list(BIRTH_PROVINCES.values())


def century_sex_digit(year: int, sex: str) -> int:
    """The ``G`` digit: 1900s male 0 / female 1, 2000s 2 / 3, 2100s 4 / 5."""
    return 2 * (year // 100 - 19) + (sex == "female")


def id_prefix(province: str, year: int, sex: str) -> str:
    """The first six digits ``PPP G YY`` of a personal ID."""
    return f"{province}{century_sex_digit(year, sex)}{year % 100:02d}"


def prefix_mismatch(personal_id: str, date_of_birth: str | None, sex: str | None) -> bool:
    """True when the ID's ``G``/``YY`` digits disagree with the stated birth date or sex."""
    if len(personal_id) != 12 or not personal_id.isdigit() or not date_of_birth:
        return False
    g, yy = int(personal_id[3]), personal_id[4:6]
    year = int(date_of_birth[:4])
    if g // 2 != year // 100 - 19 or yy != f"{year % 100:02d}":
        return True
    return sex is not None and g % 2 != (sex == "female")


class IdAllocator:
    """Hands out unique personal and legacy IDs; deterministic for the order of calls."""

    def __init__(self) -> None:
        self.personal: set[str] = set()
        self.legacy: set[str] = set()

    def personal_id(self, rng: random.Random, year: int, sex: str, *, wrong: bool = False) -> str:
        """A new 12-digit ID; ``wrong`` records the year or sex digit wrongly (a clerk's error)."""
        if wrong:
            if rng.random() < 0.5:
                year += rng.choice((-1, 1))
            else:
                sex = "female" if sex == "male" else "male"
        prefix = id_prefix(rng.choices(_PROVINCES, _PROVINCE_WEIGHTS)[0], year, sex)
        return _unused(self.personal, lambda: f"{prefix}{rng.randrange(10**6):06d}")

    def legacy_id(self, rng: random.Random) -> str:
        """A new 9-digit ID in the range the two provinces' police issued (12xxxxxxx)."""
        return _unused(self.legacy, lambda: f"12{rng.randrange(10**7):07d}")


def _unused(issued: set[str], draw: Callable[[], str]) -> str:
    """Draw until the ID is one not issued yet, and count it as issued."""
    while True:
        candidate = draw()
        if candidate not in issued:
            issued.add(candidate)
            return candidate
