"""Parcels and certificates of one commune, numbered as before and after the 2025 merger."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from shared.communes import province_communes
from shared.generate.facts import CertificateRow, Person
from shared.generate.households import Household
from shared.generate.serials import SerialAllocator, issue_date

BANKS = ("Agribank", "BIDV", "Vietinbank", "Vietcombank", "MB", "Techcombank", "LienVietPostBank")
VILLAGES = (
    "Đồng Lạc", "Tiền Phong", "Quyết Tiến", "Hòa Bình", "Đông Hương", "Trung Đồng", "Yên Lễ",
    "Thống Nhất", "Bãi Ban", "Đình Cả", "Lý Cốt", "Phúc Lâm", "Tân Lập", "Ninh Xá", "Cẩm Xuyên",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Commune:
    """A commune of the new province and the old communes merged into it."""

    code: str
    name: str
    kind: str
    old_codes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """The commune as addresses name it: "xã Tân Yên", "phường Kinh Bắc"."""
        return f"{'phường' if self.kind == 'phuong' else 'xã'} {self.name}"


def communes(count: int) -> list[Commune]:
    """``count`` real communes spread over the province's list, with plausible old codes.

    The merged old communes get the free codes between this code and the next one, stepping by
    3 as the national code list does; the new commune reuses the first old code (DOMAIN.md).
    """
    rows = province_communes()
    codes = [int(r.code) for r in rows]
    out = []
    for i, row in enumerate(rows):
        nxt = codes[i + 1] if i + 1 < len(rows) else codes[i] + 30
        old = tuple(f"{c:05d}" for c in range(codes[i] + 3, nxt, 3))[:2]
        out.append(Commune(row.code, row.name, row.kind, old))
    step = len(out) / max(1, min(count, len(out)))
    return [out[int(i * step)] for i in range(min(count, len(out)))]


@dataclass(slots=True)
class Plot:
    """A parcel: where it is now and as printed, its uses, and the certificate it is held under."""

    map_sheet: int
    parcel_no: int
    printed: tuple[str, int, int]
    village: str
    uses: list[tuple[str, float, str, str]]
    household: Household
    holder_type: str
    holders: list[tuple[Person, str]]
    certificate: list[CertificateRow] = field(default_factory=list)  # all rows, every parcel
    history: list[CertificateRow] = field(default_factory=list)  # earlier, replaced certificates

    @property
    def row(self) -> CertificateRow:
        """This parcel's row of its current certificate."""
        return next(
            r
            for r in self.certificate
            if (r.commune_code, r.map_sheet, r.parcel_no) == self.printed
        )

    @property
    def area(self) -> float:
        """The parcel area: the sum of its uses."""
        return round(sum(u[1] for u in self.uses), 1)


def land_uses(rng: random.Random, urban: bool) -> list[tuple[str, float, str, str]]:
    """One to three land uses; residential land first, with long-term tenure."""
    home = "ODT" if urban else "ONT"
    residential = round(rng.uniform(50, 400), 1)
    origin = rng.choice(("CNQ-KTT", "CNQ-CTT", "DG-CTT", "NCQ-8", "NCQ-9"))
    uses = [(home, residential, origin, "Lâu dài")]
    if rng.random() < 0.3:
        code = rng.choice(("CLN", "HNK", "LUC", "BHK"))
        uses.append((code, round(rng.uniform(20, 600), 1), "CNQ-KTT", "Đến ngày 01/07/2064"))
    if rng.random() < 0.05:
        uses.append(("NTS", round(rng.uniform(50, 900), 1), "DG-KTT", "Đến ngày 15/10/2063"))
    if not urban and rng.random() < 0.25:  # a paddy field on its own
        return [("LUC", round(rng.uniform(200, 2000), 1), "DG-KTT", "Đến ngày 01/07/2064")]
    return uses


def holders_of(rng: random.Random, h: Household) -> tuple[str, list[tuple[Person, str]]]:
    """Holder type and holders with their roles on one certificate of the household."""
    adults = h.adult_children
    draw = rng.random()
    if h.spouse and draw < 0.40:
        pair = [(h.head, _spouse_role(h.head)), (h.spouse, _spouse_role(h.spouse))]
        return "couple", pair
    if adults and draw < 0.55:
        members = [(h.head, "head_of_household")]
        members += [(p, "member") for p in ([h.spouse] if h.spouse else []) + adults[:1]]
        return "household", members
    if adults and draw < 0.62:
        return "co_users", [(h.head, "representative"), (adults[0], "member")]
    holder = h.spouse if h.spouse and rng.random() < 0.1 else h.head
    return "individual", [(holder, "individual")]


def _spouse_role(p: Person) -> str:
    return "husband" if p.sex == "male" else "wife"


def certificate(
    rng: random.Random, serials: SerialAllocator, plot: Plot, *, issued: date | None = None
) -> list[CertificateRow]:
    """A certificate for the plot (one row); sometimes with a released mortgage."""
    issued = issued or issue_date(rng)
    row = serials.certificate(rng, issued, plot.printed, [p.personal_id for p, _ in plot.holders])
    if rng.random() < 0.04:  # a loan taken and repaid: registered, then released
        since = issued + timedelta(days=rng.randrange(200, 3000))
        row.mortgage_bank = rng.choice(BANKS)
        row.mortgage_registered_on = min(since, date(2025, 5, 1)).isoformat()
        released = date.fromisoformat(row.mortgage_registered_on) + timedelta(days=400)
        row.mortgage_released_on = min(released, date(2025, 8, 1)).isoformat()
    return [row]


def predecessor(
    rng: random.Random, serials: SerialAllocator, current: CertificateRow
) -> CertificateRow:
    """An older certificate of the same parcel, since replaced by ``current``."""
    before = date.fromisoformat(current.issued_on) - timedelta(days=rng.randrange(365, 4000))
    issued = max(before, date(1993, 7, 1))
    printed = (current.commune_code, current.map_sheet, current.parcel_no)
    return serials.certificate(rng, issued, printed, list(current.holder_ids), "replaced")
