"""Truth labels: injected cases re-derived from the written files, and the rules' edge cases."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from services.reconcile.decision import decide
from services.reconcile.facts import CertificateRow as ServiceCertificate
from services.reconcile.facts import Facts, Resident
from services.reconcile.facts import ParcelState as ServiceParcelState
from shared.generate.facts import CertificateRow, Certificates, Person, Registry
from shared.generate.label import label, plot_content
from shared.generate.province import generate
from shared.generate.rates import Rates
from shared.normalize import clean_name, fold_name, scan_key, serial_key
from shared.records import Form01Record
from tests.generated import read_csv, read_jsonl

# High rates, so every injected kind shows up in a small province.
_RATES = Rates(
    **{name: 0.02 for name in Rates.names() if name not in ("no_id", "legacy_id_only")},
)


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("labels")
    generate(out, communes_count=2, plots=5000, seed=11, rates=_RATES)
    return out


def _injected(province: Path, kind: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    pairs = zip(
        read_jsonl(province / "records.jsonl"), read_jsonl(province / "truth.jsonl"), strict=True
    )
    found = [(r, t) for r, t in pairs if kind in t["injected"]]
    assert found, kind
    return found


def test_a_mistyped_serial_is_not_found_in_the_certificates_file(province: Path) -> None:
    known = {serial_key(r["serial"]) for r in read_csv(province / "certificates.csv")}
    for record, truth in _injected(province, "certificate_typo"):
        assert serial_key(record["certificate"]["serial"]) not in known
        assert "certificate_not_found" in truth["reasons"]
        assert truth["outcome"] == "rejected"


def test_an_active_mortgage_in_the_file_dead_letters_the_record(province: Path) -> None:
    active = {
        serial_key(r["serial"])
        for r in read_csv(province / "certificates.csv")
        if r["mortgage_registered_on"] and not r["mortgage_released_on"]
    }
    for record, truth in _injected(province, "mortgaged"):
        assert serial_key(record["certificate"]["serial"]) in active
        assert "mortgaged" in truth["reasons"]


def test_a_name_without_diacritics_matches_only_after_folding(province: Path) -> None:
    residents = {r["personal_id"]: r for r in read_csv(province / "residents.csv")}
    for record, truth in _injected(province, "no_diacritics"):
        owner = record["owners"][0]
        registered = residents[owner["personal_id"]]["full_name"]
        assert fold_name(owner["full_name"]) == fold_name(registered)
        if clean_name(owner["full_name"]) != clean_name(registered):
            assert "name_variant" in truth["warnings"]


def test_an_id_less_owner_whose_name_and_birth_date_are_shared_is_unresolved(
    province: Path,
) -> None:
    keys = Counter(
        (fold_name(r["full_name"]), r["date_of_birth"])
        for r in read_csv(province / "residents.csv")
    )
    for record, truth in _injected(province, "namesake"):
        owner = record["owners"][0]
        assert "personal_id" not in owner
        assert keys[fold_name(owner["full_name"]), owner["date_of_birth"]] >= 2
        assert "owner_unresolved" in truth["reasons"]
        assert truth["outcome"] in {"dead_lettered", "rejected"}


def test_a_scan_named_after_something_else_is_rejected(province: Path) -> None:
    for record, truth in _injected(province, "bad_scan_name"):
        assert scan_key(record["scan_file"]) != serial_key(record["certificate"]["serial"])
        assert truth["outcome"] == "rejected"
        assert "scan_name_mismatch" in truth["reasons"]


def test_an_owner_marked_deceased_in_the_registry_is_dead_lettered(province: Path) -> None:
    dead = {
        r["personal_id"] for r in read_csv(province / "residents.csv") if r["status"] == "deceased"
    }
    for record, truth in _injected(province, "deceased_owner"):
        assert record["owners"][0]["personal_id"] in dead
        assert "owner_deceased" in truth["reasons"]


def test_identical_duplicates_come_after_an_accepted_original(province: Path) -> None:
    records = read_jsonl(province / "records.jsonl")
    truth = read_jsonl(province / "truth.jsonl")
    accepted_before: set[bytes] = set()
    duplicates = 0
    for record, line in zip(records, truth, strict=True):
        content = plot_content(record)
        if line["outcome"] == "duplicate":
            assert content in accepted_before
            assert line["reasons"] == ["duplicate"]
            duplicates += 1
        if line["outcome"] == "accepted":
            accepted_before.add(content)
    assert duplicates > 0


def test_conflicting_resubmissions_are_rejected_as_duplicate_conflict(province: Path) -> None:
    for _, truth in _injected(province, "duplicate_conflict"):
        assert truth["reasons"] == ["duplicate_conflict"]


def test_a_reissued_certificate_makes_the_later_record_the_next_version(province: Path) -> None:
    replaced = {
        serial_key(r["serial"])
        for r in read_csv(province / "certificates.phase2.csv")
        if r["status"] == "replaced"
    }
    assert replaced
    pairs = zip(
        read_jsonl(province / "records.phase2.jsonl"),
        read_jsonl(province / "truth.phase2.jsonl"),
        strict=True,
    )
    reissued = [(r, t) for r, t in pairs if t["injected"] == ["phase2_reissue"]]
    assert reissued
    for record, truth in reissued:
        assert serial_key(record["certificate"]["serial"]) not in replaced
        assert "supersedes_previous" in truth["warnings"]
        assert truth["outcome"] == "accepted"


# The rules on hand-made facts: the edges the generator must label like the decision function.


def _resident(pid: str, name: str, born: str = "1980-05-01") -> Person:
    return Person(pid, None, name, born, "male", "07339")


def _facts(*people: Person) -> tuple[Registry, Certificates]:
    registry, certificates = Registry(), Certificates()
    for p in people:
        registry.add(p)
    certificates.add(
        CertificateRow("CK 031112", "CS1", "2016-05-12", "07339", 12, 345, [people[0].personal_id])
    )
    return registry, certificates


def _record(name: str, pid: str | None, born: str = "1980-05-01") -> dict[str, Any]:
    owner = {"full_name": name, "date_of_birth": born, "sex": "male", "role": "individual"}
    if pid:
        owner["personal_id"] = pid
    return {
        "submission_id": "s-1",
        "commune_code": "07339",
        "certificate": {"serial": "CK 031112", "issued_on": "2016-05-12"},
        "holder_type": "individual",
        "owners": [owner],
        "parcel": {
            "map_sheet": 12,
            "parcel_no": 345,
            "area_m2": 96.1,
            "land_uses": [{"code": "ONT", "area_m2": 96.1}],
        },
        "collection_status": "supplied",
        "scan_file": "CK031112.pdf",
    }


def test_a_typo_that_folds_to_the_same_name_is_only_a_name_variant() -> None:
    registry, certificates = _facts(_resident("027080001234", "Nguyễn Văn Ân"))
    verdict = label(_record("Nguyễn Văn An", "027080001234"), registry, certificates, None)
    assert (verdict.outcome, verdict.reasons, verdict.warnings) == (
        "accepted",
        [],
        ["name_variant"],
    )


def test_a_name_three_edits_away_is_beyond_the_fuzzy_bound() -> None:
    registry, certificates = _facts(_resident("027080001234", "Nguyễn Văn Hùng"))
    verdict = label(_record("Nguyễn Văn Hxyz", "027080001234"), registry, certificates, None)
    assert verdict.reasons == ["owner_unresolved"]


def test_an_id_less_owner_is_recovered_only_when_unique() -> None:
    one = _facts(_resident("027080001234", "Trần Thị Lan"))
    unaccented = label(_record("Tran Thi Lan", None), *one, None)
    assert unaccented.warnings == ["id_recovered", "name_variant"]
    assert label(_record("Trần Thị Lan", None), *one, None).warnings == ["id_recovered"]
    two = _facts(
        _resident("027080001234", "Trần Thị Lan"), _resident("024080009999", "Trần Thị Lan")
    )
    assert label(_record("Trần Thị Lan", None), *two, None).reasons == ["owner_unresolved"]


# The truth against the reconcile service's own decision function, record by record.


def _service_facts(province: Path, *certificate_files: str) -> Facts:
    def day(text: str) -> date | None:
        return date.fromisoformat(text) if text else None

    by_id, by_legacy = {}, {}
    by_name: dict[tuple[str, date], list[Resident]] = defaultdict(list)
    for r in read_csv(province / "residents.csv"):
        born = date.fromisoformat(r["date_of_birth"])
        key = fold_name(r["full_name"])
        resident = Resident(
            r["personal_id"],
            r["legacy_id"] or None,
            r["full_name"],
            key,
            born,
            r["sex"],
            r["status"],
        )
        by_id[resident.personal_id] = resident
        if resident.legacy_id:
            by_legacy[resident.legacy_id] = resident
        by_name[key, born].append(resident)
    rows: dict[tuple[str, str, int, int], ServiceCertificate] = {}
    for name in certificate_files:  # a later file's row replaces an earlier one, as a load does
        for r in read_csv(province / name):
            row = ServiceCertificate(
                r["serial"], serial_key(r["serial"]), r["commune_code"], int(r["map_sheet"]),
                int(r["parcel_no"]), tuple(h for h in r["holder_ids"].split(";") if h),
                r["status"], day(r["mortgage_registered_on"]), day(r["mortgage_released_on"]),
            )  # fmt: skip
            rows[row.serial_key, row.commune_code, row.map_sheet, row.parcel_no] = row
    by_key: dict[str, list[ServiceCertificate]] = defaultdict(list)
    by_parcel: dict[tuple[str, int, int], list[ServiceCertificate]] = defaultdict(list)
    for row in rows.values():
        by_key[row.serial_key].append(row)
        by_parcel[row.commune_code, row.map_sheet, row.parcel_no].append(row)
    return Facts(by_id, by_legacy, by_name, by_key, by_parcel)


def test_every_truth_label_equals_the_reconcile_decision_in_both_phases(province: Path) -> None:
    states: dict[str, ServiceParcelState] = {}
    phases = (
        ("", ("certificates.csv",)),
        (".phase2", ("certificates.csv", "certificates.phase2.csv")),
    )
    for suffix, certificate_files in phases:
        facts = _service_facts(province, *certificate_files)
        records = (province / f"records{suffix}.jsonl").read_text(encoding="utf-8").splitlines()
        for line, truth in zip(records, read_jsonl(province / f"truth{suffix}.jsonl"), strict=True):
            record = Form01Record.model_validate_json(line)
            decision = decide(record, facts, states.get(record.parcel_key))
            assert (
                decision.outcome,
                sorted(f.code for f in decision.reasons),
                sorted(f.code for f in decision.warnings),
            ) == (truth["outcome"], truth["reasons"], truth["warnings"]), truth["submission_id"]
            if decision.outcome == "accepted":
                assert decision.version is not None
                states[record.parcel_key] = ServiceParcelState(
                    decision.version, uuid4(), decision.plot_hash, decision.certificate_key
                )
