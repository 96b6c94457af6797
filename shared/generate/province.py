"""Builds the synthetic province commune by commune and writes its files (see README)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from shared.generate.facts import CertificateRow, Certificates, Person, Registry
from shared.generate.households import Household, households_for
from shared.generate.ids import IdAllocator, prefix_mismatch
from shared.generate.inject import INJECTIONS, Scene
from shared.generate.label import ParcelState, Verdict, label, plot_content, printed
from shared.generate.land import Commune, Plot, communes
from shared.generate.output import Output
from shared.generate.phase2 import second_phase
from shared.generate.plots import plots_of
from shared.generate.rates import RECORD_ERRORS, Rates
from shared.generate.records import form01, slug
from shared.generate.serials import SerialAllocator
from shared.normalize import serial_key

#: Labelled records: (record, verdict, what was injected).
Labelled = list[tuple[dict[str, Any], Verdict, list[str]]]


@dataclass
class Summary:
    """Counts of what was generated, for the command's report."""

    residents: int = 0
    certificates: int = 0
    records: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    phase2_records: int = 0
    phase2_outcomes: dict[str, int] = field(default_factory=dict)
    corrections: int = 0
    correction_outcomes: dict[str, int] = field(default_factory=dict)


def split(total: int, parts: int, rng: random.Random) -> list[int]:
    """``total`` plots over ``parts`` communes, unevenly as real communes are."""
    weights = [rng.uniform(0.6, 1.4) for _ in range(parts)]
    counts = [int(total * w / sum(weights)) for w in weights]
    counts[-1] += total - sum(counts)
    return counts


def draw_error(rng: random.Random, rates: Rates) -> str | None:
    """At most one record error, each with its rate."""
    u = rng.random()
    for name in RECORD_ERRORS:
        u -= getattr(rates, name)
        if u < 0:
            return name
    return None


def label_all(
    records: list[tuple[dict[str, Any], list[str]]],
    registry: Registry,
    certificates: Certificates,
    states: dict[tuple[int, int], ParcelState],
) -> Labelled:
    """Label records in order, as one partition would decide them, updating parcel states."""
    out: Labelled = []
    for record, injected in records:
        key = (record["parcel"]["map_sheet"], record["parcel"]["parcel_no"])
        state = states.get(key)
        verdict = label(record, registry, certificates, state)
        if verdict.outcome == "accepted":
            serial = record["certificate"]["serial"]
            states[key] = ParcelState(
                (state.version if state else 0) + 1,
                plot_content(record),
                serial_key(serial),
                printed(record),
            )
        out.append((record, verdict, injected))
    return out


def with_duplicates(
    rng: random.Random, labelled: Labelled, rates: Rates, next_id: Callable[[], str]
) -> list[tuple[dict[str, Any], list[str]]]:
    """The records plus re-submissions, each placed after its accepted original."""
    out: list[tuple[dict[str, Any], list[str]]] = [(r, i) for r, _, i in labelled]
    later: list[tuple[int, dict[str, Any], list[str]]] = []
    for n, (record, verdict, _) in enumerate(labelled):
        if verdict.outcome != "accepted" or verdict.warnings:
            continue
        u = rng.random()
        if u < rates.duplicate:
            later.append((n, _copy(record, next_id()), ["duplicate"]))
        elif u < rates.duplicate + rates.duplicate_conflict:
            later.append((n, _remeasured(rng, record, next_id()), ["duplicate_conflict"]))
    for n, record, injected in reversed(later):
        at = min(len(out), n + 1 + rng.randrange(0, 400))
        out.insert(at, (record, injected))
    return out


def _copy(record: dict[str, Any], submission_id: str) -> dict[str, Any]:
    copy: dict[str, Any] = orjson.loads(orjson.dumps(record))
    copy["submission_id"] = submission_id
    return copy


def _remeasured(rng: random.Random, record: dict[str, Any], submission_id: str) -> dict[str, Any]:
    """The same parcel re-measured: area and first use changed together, so both still add up."""
    copy = _copy(record, submission_id)
    delta = round(rng.uniform(1, 20), 1)
    copy["parcel"]["area_m2"] = round(copy["parcel"]["area_m2"] + delta, 1)
    copy["parcel"]["land_uses"][0]["area_m2"] = round(
        copy["parcel"]["land_uses"][0]["area_m2"] + delta, 1
    )
    return copy


def generation_tag(seed: int, communes_count: int, plots: int, rates: Rates) -> str:
    """Six hex digits that name one generation: its seed and every option that shapes it.

    Part of every submission id, so two generations never send different records under the
    same id (intake would refuse them as ``submission_conflict``), while the same seed and
    options give the same ids again (then intake answers ``duplicate_submission``).
    """
    shape = repr((seed, communes_count, plots, astuple(rates))).encode()
    return hashlib.blake2b(shape, digest_size=3).hexdigest()


def _ids(prefix: str) -> Iterator[str]:
    n = 0
    while True:
        n += 1
        yield f"{prefix}-{n:06d}"


def generate(
    out_dir: Path,
    *,
    communes_count: int,
    plots: int,
    seed: int,
    rates: Rates,
    progress: Callable[[int], None] | None = None,
) -> Summary:
    """Generate the province into ``out_dir``; ``progress(plots_done)`` after each commune."""
    rng = random.Random(seed)  # noqa: S311 - reproducible by seed, not secret
    chosen = communes(communes_count)
    counts = split(plots, len(chosen), rng)
    ids, serials, registry = IdAllocator(), SerialAllocator(), Registry()
    # Everyone first: an ID-less owner is recovered only if no one else in the province shares
    # their name and birth date, so the whole registry must exist before any record is labelled.
    population: list[list[Household]] = []
    for commune, count in zip(chosen, counts, strict=True):
        c_rng = random.Random(f"{seed}:people:{commune.code}")  # noqa: S311
        wrong_ids = rates.id_prefix_mismatch
        population.append(households_for(c_rng, ids, commune.code, count, wrong_ids))
        for h in population[-1]:
            for p in h.members:
                registry.add(p)
    summary = Summary()
    added: list[Person] = []
    with Output(out_dir) as output:
        tag = generation_tag(seed, communes_count, plots, rates)
        run = _Run(seed, tag, rates, ids, serials, registry, added, output, summary)
        for commune, households in zip(chosen, population, strict=True):
            run.commune(commune, households)
            if progress is not None:
                progress(sum(h.plots for h in households))
        for households in population:
            for h in households:
                output.residents(h.members)
        output.residents(added)
    summary.residents = sum(len(h.members) for hs in population for h in hs) + len(added)
    return summary


@dataclass
class _Run:
    """The province-wide state one commune after another adds to."""

    seed: int
    tag: str  # generation_tag(): part of every submission id
    rates: Rates
    ids: IdAllocator
    serials: SerialAllocator
    registry: Registry
    added: list[Person]
    output: Output
    summary: Summary

    def commune(self, commune: Commune, households: list[Household]) -> None:
        """Plots, certificates, records and labels of one commune, both phases, written out."""
        _commune(self, commune, households)


def _drafts(
    run: _Run,
    rng: random.Random,
    commune: Commune,
    plots: list[Plot],
    next_id: Callable[[], str],
) -> tuple[list[tuple[dict[str, Any], list[str]]], dict[int, dict[str, Any]]]:
    """One record per plot, with at most one injected error each.

    Also, by ``id()`` of each record given an error, the record as it was before: what a
    correction resubmits.
    """
    drafts: list[tuple[dict[str, Any], list[str]]] = []
    clean: dict[int, dict[str, Any]] = {}
    for plot in plots:
        record = form01(rng, plot, commune, next_id())
        scene = Scene(rng, plot, record, run.registry, run.ids, run.serials)
        error = draw_error(rng, run.rates)
        before = _copy(record, record["submission_id"]) if error else None
        injected = [error] if error and INJECTIONS[error](scene) else []
        if before is not None and injected:
            clean[id(record)] = before
        if any(prefix_mismatch(p.personal_id, p.date_of_birth, p.sex) for p, _ in plot.holders):
            injected.append("id_prefix_mismatch")
        run.added.extend(scene.added_residents)
        drafts.append((record, injected))
    return drafts, clean


def corrections(
    rng: random.Random, labelled: Labelled, clean: dict[int, dict[str, Any]], share: float
) -> list[tuple[dict[str, Any], list[str]]]:
    """The commune's fixes of a ``share`` of its rejected records.

    Each is the record without its error, under a new submission_id; a fix of a wrong parcel
    number names the record it corrects in ``corrects``.
    """
    out: list[tuple[dict[str, Any], list[str]]] = []
    for record, verdict, injected in labelled:
        original = clean.get(id(record))
        if verdict.outcome != "rejected" or original is None or rng.random() >= share:
            continue
        fixed = _copy(original, f"{record['submission_id']}-fix")
        if "wrong_parcel" in injected:
            fixed["corrects"] = record["submission_id"]
        out.append((fixed, [f"correction:{e}" for e in injected]))
    return out


def _commune(run: _Run, commune: Commune, households: list[Household]) -> None:
    seed, rates, serials, registry = run.seed, run.rates, run.serials, run.registry
    output, summary = run.output, run.summary
    rng = random.Random(f"{seed}:land:{commune.code}")  # noqa: S311 - reproducible, not secret
    plots = plots_of(rng, serials, commune, households)
    next_id = _ids(f"{slug(commune.name)}-2025-{run.tag}").__next__
    drafts, clean = _drafts(run, rng, commune, plots, next_id)
    rows = _rows(plots)
    certificates = Certificates()
    for row in rows:
        certificates.add(row)
    first = label_all(drafts, registry, certificates, {})
    states: dict[tuple[int, int], ParcelState] = {}
    labelled = label_all(
        with_duplicates(rng, first, rates, next_id), registry, certificates, states
    )
    output.certificates(rows)
    output.records(labelled)
    summary.certificates += len(rows)
    summary.records += len(labelled)
    _count_outcomes(labelled, summary.outcomes)
    # Labelled against the first phase's facts, on a copy of the parcel states: the parcels
    # they fix were never accepted, so the second phase (which re-issues accepted parcels'
    # certificates) neither sees nor changes them. Their own random stream keeps the second
    # phase the same bytes as before corrections existed.
    fix_rng = random.Random(f"{seed}:corrections:{commune.code}")  # noqa: S311 - reproducible
    fixes = label_all(
        corrections(fix_rng, labelled, clean, rates.correction),
        registry,
        certificates,
        dict(states),
    )
    output.records(fixes, phase="corrections")
    summary.corrections += len(fixes)
    _count_outcomes(fixes, summary.correction_outcomes)
    changed, later = second_phase(rng, commune, plots, labelled, states, serials, next_id, rates)
    known = {id(r) for r in rows}
    for row in changed:
        if id(row) not in known:  # new certificates; the replaced ones changed in place
            certificates.add(row)
    phase2 = label_all(later, registry, certificates, states)
    output.certificates(changed, phase=2)
    output.records(phase2, phase=2)
    summary.phase2_records += len(phase2)
    _count_outcomes(phase2, summary.phase2_outcomes)


def _count_outcomes(labelled: Labelled, outcomes: dict[str, int]) -> None:
    """Add each labelled record's verdict to its outcome's count in the summary."""
    for _, verdict, _ in labelled:
        outcomes[verdict.outcome] = outcomes.get(verdict.outcome, 0) + 1


def _rows(plots: list[Plot]) -> list[CertificateRow]:
    seen: set[int] = set()
    rows: list[CertificateRow] = []
    for plot in plots:
        for row in [*plot.certificate, *plot.history]:
            if id(row) not in seen:
                seen.add(id(row))
                rows.append(row)
    return rows
