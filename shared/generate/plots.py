"""Lays out one commune's plots over its old communes' map sheets and issues their certificates."""

from __future__ import annotations

import random

from shared.generate.households import Household
from shared.generate.land import (
    VILLAGES,
    Commune,
    Plot,
    certificate,
    holders_of,
    land_uses,
    predecessor,
)
from shared.generate.serials import SerialAllocator


def layout(
    rng: random.Random, commune: Commune, count: int
) -> list[tuple[int, int, tuple[str, int, int]]]:
    """(map sheet, parcel no, as printed) for ``count`` plots.

    Each old commune numbered its sheets from 1; the current map numbers them on after the
    sheets of the commune before it, so printed and current sheets differ after the merger.
    """
    parts = [commune.code, *commune.old_codes]
    shares = [2.0] + [1.0] * len(commune.old_codes)
    per_sheet = rng.randrange(120, 320)
    out: list[tuple[int, int, tuple[str, int, int]]] = []
    offset = 0
    for i, (part, share) in enumerate(zip(parts, shares, strict=True)):
        n = count - len(out) if i == len(parts) - 1 else round(count * share / sum(shares))
        for k in range(n):
            sheet, parcel = 1 + k // per_sheet, 1 + k % per_sheet
            out.append((offset + sheet, parcel, (part, sheet, parcel)))
        offset += (n + per_sheet - 1) // per_sheet
    return out


def plots_of(
    rng: random.Random,
    serials: SerialAllocator,
    commune: Commune,
    households: list[Household],
) -> list[Plot]:
    """Every plot of the commune with its holders and certificate, in map order."""
    slots = layout(rng, commune, sum(h.plots for h in households))
    out: list[Plot] = []
    urban = commune.kind == "phuong"
    for h in households:
        for i in range(h.plots):
            sheet, parcel, printed = slots[len(out)]
            holder_type, holders = holders_of(rng, h)
            plot = Plot(sheet, parcel, printed, rng.choice(VILLAGES), land_uses(rng, urban),
                        h, holder_type, holders)  # fmt: skip
            shared = out[-1] if i and rng.random() < 0.12 else None
            if shared is not None and not shared.history:
                _cover_too(plot, shared)
            else:
                plot.certificate = certificate(rng, serials, plot)
                if rng.random() < 0.02:  # re-issued before: an older, replaced certificate
                    plot.history.append(predecessor(rng, serials, plot.certificate[0]))
            out.append(plot)
    return out


def _cover_too(plot: Plot, shared: Plot) -> None:
    """One certificate for two parcels of the household: a second row, same serial and holders."""
    first = shared.certificate[0]
    plot.holder_type, plot.holders = shared.holder_type, shared.holders
    row = type(first)(
        first.serial, first.book_number, first.issued_on, *plot.printed, first.holder_ids
    )
    row.mortgage_bank = first.mortgage_bank
    row.mortgage_registered_on = first.mortgage_registered_on
    row.mortgage_released_on = first.mortgage_released_on
    shared.certificate.append(row)
    plot.certificate = shared.certificate  # the same list: a later change shows on both
