"""Certificate serials and book numbers of each certificate form (DOMAIN.md), by issue date."""

from __future__ import annotations

import random
from datetime import date, timedelta

from shared.generate.facts import CertificateRow
from shared.normalize import serial_key

_LETTERS = "ABCDEGHKLMNPQRSTUVXY"
_LETTERS_D = _LETTERS + "Đ"  # Vietnamese letters, Đ included, from 2004
# (first day, last day, share of certificates issued) per form.
PERIODS: list[tuple[date, date, float]] = [
    (date(1994, 1, 1), date(2003, 12, 31), 0.24),
    (date(2004, 1, 1), date(2014, 6, 30), 0.30),
    (date(2014, 7, 1), date(2024, 7, 31), 0.39),
    (date(2024, 8, 1), date(2025, 6, 30), 0.07),
]


def issue_date(rng: random.Random, *, after: date | None = None) -> date:
    """A plausible issue date, weighted by how many certificates each period issued."""
    periods = [p for p in PERIODS if after is None or p[1] > after]
    first, last, _ = rng.choices(periods, [p[2] for p in periods])[0]
    if after is not None and first <= after:
        first = after + timedelta(days=1)
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def serial_for(rng: random.Random, issued_on: date) -> str:
    """A serial in the format of the form in use on ``issued_on``, as printed ("CK 031112")."""
    if issued_on.year < 2004:
        return f"{rng.choice(_LETTERS)} {rng.randrange(10**6):06d}"
    letters = _LETTERS_D if rng.random() < 0.08 else _LETTERS
    prefix = rng.choice(_LETTERS) + rng.choice(letters)
    if issued_on >= date(2024, 8, 1):
        return f"{prefix} {rng.randrange(10**8):08d}"
    return f"{prefix} {rng.randrange(10**6):06d}"


def book_number(rng: random.Random, issued_on: date) -> str:
    """A registry book number: free text whose style changed over the years."""
    n = rng.randrange(1, 30_000)
    if issued_on.year < 2004:
        return f"{n:05d}/QSDĐ" if rng.random() < 0.6 else f"H{n:05d}"
    return f"CH{n:05d}" if issued_on.year < 2014 else f"CS{n:05d}"


class SerialAllocator:
    """Hands out serials whose keys are unique province-wide, and reserves keys typos use."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def new(self, rng: random.Random, issued_on: date) -> str:
        """A serial no other certificate has."""
        while True:
            serial = serial_for(rng, issued_on)
            if self.reserve(serial):
                return serial

    def certificate(
        self,
        rng: random.Random,
        issued_on: date,
        printed: tuple[str, int, int],
        holder_ids: list[str],
        status: str = "valid",
    ) -> CertificateRow:
        """A certificate of the parcel ``printed`` (commune, sheet, number): new serial and book."""
        return CertificateRow(
            self.new(rng, issued_on),
            book_number(rng, issued_on),
            issued_on.isoformat(),
            *printed,
            holder_ids,
            status,
        )

    def reserve(self, serial: str) -> bool:
        """Claim a serial's key; False if it was taken."""
        key = serial_key(serial)
        if key in self.used:
            return False
        self.used.add(key)
        return True
