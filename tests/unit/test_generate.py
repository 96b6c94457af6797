"""The synthetic province: deterministic, valid records, realistic people and certificates."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from shared.cli.demo import id_prefixes
from shared.generate.ids import prefix_mismatch
from shared.generate.province import generate
from shared.generate.rates import Rates
from shared.records import Form01Record
from tests.generated import read_csv, read_jsonl

_FILES = (
    "residents.csv",
    "certificates.csv",
    "records.jsonl",
    "truth.jsonl",
    "certificates.phase2.csv",
    "records.phase2.jsonl",
    "truth.phase2.jsonl",
    "records.corrections.jsonl",
    "truth.corrections.jsonl",
)


def _make(out: Path, seed: int = 7, plots: int = 6000, **rates: float) -> Path:
    generate(out, communes_count=3, plots=plots, seed=seed, rates=Rates(**rates))
    return out


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make(tmp_path_factory.mktemp("province"))


def _digest(directory: Path) -> dict[str, str]:
    return {n: hashlib.sha256((directory / n).read_bytes()).hexdigest() for n in _FILES}


def test_the_same_seed_gives_identical_files_and_another_seed_different_ones(
    tmp_path: Path, province: Path
) -> None:
    assert _digest(_make(tmp_path / "again")) == _digest(province)
    other = _digest(_make(tmp_path / "other", seed=8))
    assert other["records.jsonl"] != _digest(province)["records.jsonl"]


def _submission_ids(directory: Path) -> set[str]:
    names = ("records.jsonl", "records.phase2.jsonl", "records.corrections.jsonl")
    return {r["submission_id"] for name in names for r in read_jsonl(directory / name)}


def test_generations_with_other_seeds_or_sizes_share_no_submission_id(tmp_path: Path) -> None:
    # A demo with another seed on a used stack must not send other records under used ids.
    first = _submission_ids(_make(tmp_path / "seed1", seed=1, plots=300))
    again = _submission_ids(_make(tmp_path / "seed1-again", seed=1, plots=300))
    other_seed = _submission_ids(_make(tmp_path / "seed2", seed=2, plots=300))
    other_size = _submission_ids(_make(tmp_path / "seed1-200", seed=1, plots=200))

    assert len(first) > 300
    assert again == first
    assert not first & other_seed
    assert not first & other_size


def test_the_demo_finds_each_communes_id_prefix_in_generated_records(province: Path) -> None:
    lines = (province / "records.jsonl").read_bytes().splitlines()
    prefixes = id_prefixes(lines)

    assert len(prefixes) == 3
    for line in lines:
        record = json.loads(line)
        assert record["submission_id"].startswith(f"{prefixes[record['commune_code']]}-")


def test_every_record_of_both_phases_passes_intake_validation(province: Path) -> None:
    for name in ("records.jsonl", "records.phase2.jsonl"):
        lines = (province / name).read_text(encoding="utf-8").splitlines()
        assert lines
        for line in lines:
            Form01Record.model_validate_json(line)


def test_the_truth_file_has_one_line_per_record_in_the_same_order(province: Path) -> None:
    for phase in ("", ".phase2"):
        records = read_jsonl(province / f"records{phase}.jsonl")
        truth = read_jsonl(province / f"truth{phase}.jsonl")
        assert [r["submission_id"] for r in records] == [t["submission_id"] for t in truth]
        assert len({r["submission_id"] for r in records}) == len(records)
        for line in truth:
            assert set(line) == {"submission_id", "outcome", "reasons", "warnings", "injected"}
            assert line["reasons"] == sorted(line["reasons"])
            assert line["warnings"] == sorted(line["warnings"])


def test_the_province_has_over_two_residents_per_plot(province: Path) -> None:
    assert len(read_csv(province / "residents.csv")) > 2 * 6000


def test_surnames_follow_the_population_distribution(province: Path) -> None:
    surnames = Counter(r["full_name"].split()[0] for r in read_csv(province / "residents.csv"))
    total = sum(surnames.values())
    assert 0.34 < surnames["Nguyễn"] / total < 0.42
    assert [s for s, _ in surnames.most_common(3)] == ["Nguyễn", "Trần", "Lê"]
    shared_names = Counter(r["full_name"] for r in read_csv(province / "residents.csv"))
    assert shared_names.most_common(1)[0][1] >= 10  # many people share a name


def test_personal_ids_agree_with_birth_date_and_sex_unless_injected(tmp_path: Path) -> None:
    clean = read_csv(_make(tmp_path / "clean", id_prefix_mismatch=0.0) / "residents.csv")
    assert not [r for r in clean if prefix_mismatch(r["personal_id"], r["date_of_birth"], r["sex"])]
    share = Counter(r["personal_id"][:3] for r in clean)
    assert (share["024"] + share["027"]) / len(clean) > 0.75


def test_an_owner_carrying_a_mismatched_id_gets_the_warning_and_keeps_the_outcome(
    province: Path,
) -> None:
    records = read_jsonl(province / "records.jsonl")
    truth = read_jsonl(province / "truth.jsonl")
    flagged = 0
    for record, line in zip(records, truth, strict=True):
        owners = record.get("owners") or []
        mismatch = any(
            o.get("personal_id") and o.get("full_name")
            and prefix_mismatch(o["personal_id"], o.get("date_of_birth"), o.get("sex"))
            for o in owners
        )  # fmt: skip
        if line["outcome"] != "duplicate":
            assert ("id_prefix_mismatch" in line["warnings"]) == mismatch
        flagged += mismatch
    assert flagged > 0


def test_legacy_ids_have_nine_digits_and_a_share_of_people_hold_one(province: Path) -> None:
    legacy = [r["legacy_id"] for r in read_csv(province / "residents.csv") if r["legacy_id"]]
    assert all(re.fullmatch(r"\d{9}", x) for x in legacy)
    assert 0.1 < len(legacy) / len(read_csv(province / "residents.csv")) < 0.6


_SERIAL_FORMS = (
    ("0000-01-01", "2003-12-31", re.compile(r"^[A-Z] \d{6}$")),
    ("2004-01-01", "2024-07-31", re.compile(r"^[A-ZĐ]{2} \d{6}$")),
    ("2024-08-01", "9999-12-31", re.compile(r"^[A-ZĐ]{2} \d{8}$")),
)


def test_serials_have_the_format_of_the_certificate_form_in_use_when_issued(
    province: Path,
) -> None:
    rows = read_csv(province / "certificates.csv") + read_csv(province / "certificates.phase2.csv")
    for row in rows:
        form = next(p for first, last, p in _SERIAL_FORMS if first <= row["issued_on"] <= last)
        assert form.match(row["serial"]), row["serial"]

    def form_of(issued_on: str) -> int:
        return next(i for i, (a, b, _) in enumerate(_SERIAL_FORMS) if a <= issued_on <= b)

    forms = Counter(form_of(r["issued_on"]) for r in rows)
    assert all(forms[i] > 0 for i in range(3))
    assert any("Đ" in r["serial"] for r in rows)


def test_certificates_include_couples_mortgages_and_superseded_ones(province: Path) -> None:
    rows = read_csv(province / "certificates.csv")
    assert any(len(r["holder_ids"].split(";")) >= 2 for r in rows)
    assert any(r["mortgage_registered_on"] and not r["mortgage_released_on"] for r in rows)
    assert any(r["mortgage_registered_on"] and r["mortgage_released_on"] for r in rows)
    assert {"valid", "replaced", "revoked"} <= {r["status"] for r in rows}


def test_merged_communes_print_old_sheet_numbers_beside_the_current_ones(province: Path) -> None:
    parcels = [r["parcel"] for r in read_jsonl(province / "records.jsonl")]
    merged = [p for p in parcels if p["old_commune_code"]]
    assert merged
    assert any(p["certificate_map_sheet"] != p["map_sheet"] for p in merged)
    communes = {r["commune_code"] for r in read_csv(province / "certificates.csv")}
    real = {r["commune_code"] for r in read_csv(Path("shared/data/bac-ninh-communes.csv"))}
    assert communes & real


def test_default_rates_accept_about_95_percent_of_decided_records(province: Path) -> None:
    outcomes = Counter(t["outcome"] for t in read_jsonl(province / "truth.jsonl"))
    decided = outcomes["accepted"] + outcomes["rejected"] + outcomes["dead_lettered"]
    assert 0.93 < outcomes["accepted"] / decided < 0.97
    assert outcomes["duplicate"] > 0


def test_corrections_fix_rejected_records_and_are_accepted(province: Path) -> None:
    first = {t["submission_id"]: t for t in read_jsonl(province / "truth.jsonl")}
    records = read_jsonl(province / "records.corrections.jsonl")
    truth = read_jsonl(province / "truth.corrections.jsonl")
    assert records
    assert [r["submission_id"] for r in records] == [t["submission_id"] for t in truth]
    for record, line in zip(records, truth, strict=True):
        fixed = record["submission_id"].removesuffix("-fix")
        assert first[fixed]["outcome"] == "rejected"
        assert line["injected"] == [f"correction:{e}" for e in first[fixed]["injected"]]
        Form01Record.model_validate_json(json.dumps(record))
        if "correction:wrong_parcel" in line["injected"]:
            assert record["corrects"] == fixed
    outcomes = [t["outcome"] for t in truth]
    assert outcomes.count("accepted") > 0.8 * len(outcomes)
