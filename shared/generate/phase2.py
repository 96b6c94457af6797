"""The second phase: certificates re-issued after the first acceptance, and the later records."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import orjson

from shared.generate.facts import CertificateRow
from shared.generate.label import ParcelState, plot_content
from shared.generate.land import Commune, Plot
from shared.generate.rates import Rates
from shared.generate.records import certificate_part, owner, scan_name
from shared.generate.serials import SerialAllocator

Draft = tuple[dict[str, Any], list[str]]
_REISSUE_FROM, _REISSUE_DAYS = date(2025, 9, 1), 80


def second_phase(  # noqa: PLR0917 - the commune's whole state, passed by the one caller
    rng: random.Random,
    commune: Commune,
    plots: list[Plot],
    labelled: list[tuple[dict[str, Any], Any, list[str]]],
    states: dict[tuple[int, int], ParcelState],
    serials: SerialAllocator,
    next_id: Callable[[], str],
    rates: Rates,
) -> tuple[list[CertificateRow], list[Draft]]:
    """(certificate rows changed or added, later records) for a share of accepted parcels.

    Most chosen parcels get a new certificate (the old one ``replaced``) and a record under it;
    a few get an identical re-submission or a changed one without a new certificate, so the
    second phase also holds ``duplicate`` and ``duplicate_conflict`` cases.
    """
    by_parcel = {(p.map_sheet, p.parcel_no): p for p in plots}
    accepted = {
        (r["parcel"]["map_sheet"], r["parcel"]["parcel_no"]): r
        for r, v, _ in labelled
        if v.outcome == "accepted"
    }
    changed: list[CertificateRow] = []
    later: list[Draft] = []
    for key, record in accepted.items():
        plot = by_parcel[key]
        if rng.random() >= rates.reissue or len(plot.certificate) != 1:
            continue
        if states[key].content != plot_content(record):
            continue  # accepted again later (a re-measure): keep the story simple
        kind = rng.choices(("reissue", "resend", "conflict"), (0.8, 0.1, 0.1))[0]
        copy: dict[str, Any] = orjson.loads(orjson.dumps(record))
        copy["submission_id"] = next_id()
        if kind == "reissue":
            changed += _reissue(rng, commune, plot, copy, serials)
        elif kind == "conflict":
            copy["parcel"]["address"] = f"{copy['parcel']['address']} (đo đạc lại)"
        later.append((copy, [f"phase2_{kind}"]))
    return changed, later


def _reissue(
    rng: random.Random,
    commune: Commune,
    plot: Plot,
    record: dict[str, Any],
    serials: SerialAllocator,
) -> list[CertificateRow]:
    """A new QR-form certificate for the parcel, printed with the post-merger numbering."""
    old = plot.certificate[0]
    old.status = "replaced"
    issued = _REISSUE_FROM + timedelta(days=rng.randrange(_REISSUE_DAYS))
    new = serials.certificate(
        rng, issued, (commune.code, plot.map_sheet, plot.parcel_no), list(old.holder_ids)
    )
    record["certificate"] = certificate_part(rng, new)
    record["scan_file"] = scan_name(record["certificate"]["serial"])
    parcel = record["parcel"]
    parcel["certificate_map_sheet"], parcel["certificate_parcel_no"] = (
        plot.map_sheet,
        plot.parcel_no,
    )
    parcel["old_commune_code"] = None
    if rng.random() < 0.25:  # handed down within the family: one spouse now holds it alone
        buyer = rng.choice(plot.household.members[:2])
        if buyer.status == "alive":
            new.holder_ids = [buyer.personal_id]
            record["holder_type"] = "individual"
            record["owners"] = [owner(rng, buyer, "individual", commune, plot.village)]
    return [old, new]
