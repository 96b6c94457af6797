"""The population: households of one commune, every person with consistent IDs."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from shared.generate import names
from shared.generate.facts import Person
from shared.generate.ids import IdAllocator

_LATEST_BIRTH = date(2020, 12, 31)


@dataclass(slots=True)
class Household:
    """A family: the head, maybe a spouse, children, maybe a grandparent; and how many plots."""

    head: Person
    spouse: Person | None
    children: list[Person] = field(default_factory=list)
    elders: list[Person] = field(default_factory=list)
    plots: int = 1

    @property
    def members(self) -> list[Person]:
        """Everyone in the household."""
        spouse = [self.spouse] if self.spouse else []
        return [self.head, *spouse, *self.children, *self.elders]

    @property
    def adult_children(self) -> list[Person]:
        """Children of 18 or more in 2025, who can be co-holders."""
        return [c for c in self.children if c.date_of_birth < "2007-01-01"]


def _birth(rng: random.Random, first: int, last: int) -> date:
    start = date(first, 1, 1)
    end = min(date(last, 12, 31), _LATEST_BIRTH)
    return start + timedelta(days=rng.randrange(max(1, (end - start).days)))


def person(
    rng: random.Random,
    ids: IdAllocator,
    commune: str,
    sex: str,
    born: date,
    *,
    family: str | None = None,
    wrong_id_rate: float = 0.0,
) -> Person:
    """A person with a personal ID matching birth and sex, and a legacy ID if old enough."""
    pid = ids.personal_id(rng, born.year, sex, wrong=rng.random() < wrong_id_rate)
    # CMND cards were issued from 14; about half of the adults of 2016 still have one on record.
    legacy = ids.legacy_id(rng) if born.year < 2002 and rng.random() < 0.5 else None
    return Person(pid, legacy, names.full_name(rng, sex, family), born.isoformat(), sex, commune)


def household(
    rng: random.Random, ids: IdAllocator, commune: str, wrong_id_rate: float
) -> Household:
    """One family of the commune."""
    head_sex = "male" if rng.random() < 0.85 else "female"
    head_born = _birth(rng, 1938, 1995)

    def make(sex: str, born: date, family: str | None = None) -> Person:
        return person(rng, ids, commune, sex, born, family=family, wrong_id_rate=wrong_id_rate)

    head = make(head_sex, head_born)
    spouse = None
    if rng.random() < 0.85:
        spouse_born = head_born + timedelta(days=rng.randrange(-2000, 2500))
        spouse = make("female" if head_sex == "male" else "male", spouse_born)
    family = head.full_name.split()[0]
    children = [
        make(sex, _birth(rng, head_born.year + 20, head_born.year + 38), family)
        for sex in rng.choices(["male", "female"], k=rng.choice((0, 1, 1, 2, 2, 2, 3)))
    ]
    elders = []
    if rng.random() < 0.2:
        elder = make(rng.choice(["male", "female"]), _birth(rng, 1915, head_born.year - 18))
        # Most very old people on the extract have died since it was compiled.
        elder.status = "deceased" if rng.random() < 0.5 else "alive"
        elders.append(elder)
    plots = 1 + (rng.random() < 0.32) + (rng.random() < 0.08)
    return Household(head, spouse, children, elders, plots)


def households_for(
    rng: random.Random, ids: IdAllocator, commune: str, plots: int, wrong_id_rate: float
) -> list[Household]:
    """Households enough to hold ``plots`` plots (the last one trimmed to fit)."""
    out: list[Household] = []
    held = 0
    while held < plots:
        h = household(rng, ids, commune, wrong_id_rate)
        h.plots = min(h.plots, plots - held)
        held += h.plots
        out.append(h)
    return out
