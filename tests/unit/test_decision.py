"""The decision function: each reason code of CONTRACT §4 as docs/reconciliation.md defines it."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import orjson
import pytest

from services.reconcile.decision import Decision, decide, plot_hash
from services.reconcile.facts import CertificateRow, Facts, ParcelState, Resident
from shared.normalize import fold_name, serial_key
from shared.reasons import Reason, route
from shared.records import Form01Record

AN = Resident("024085001234", "121234567", "Nguyễn Văn An", fold_name("Nguyễn Văn An"),
              date(1985, 3, 2), "male", "alive")  # fmt: skip
BINH = Resident("024185004321", None, "Trần Thị Bình", fold_name("Trần Thị Bình"),
                date(1986, 7, 9), "female", "alive")  # fmt: skip
SERIAL = "CK 031112"


def _certificate(**changes: Any) -> CertificateRow:
    row: dict[str, Any] = {
        "serial": SERIAL, "serial_key": serial_key(SERIAL), "commune_code": "07339",
        "map_sheet": 12, "parcel_no": 345, "holder_ids": (AN.personal_id,), "status": "valid",
        "mortgage_registered_on": None, "mortgage_released_on": None,
    }  # fmt: skip
    row.update(changes)
    return CertificateRow(**row)


def _facts(*residents: Resident, certificates: tuple[CertificateRow, ...] | None = None) -> Facts:
    residents = residents or (AN, BINH)
    rows = certificates if certificates is not None else (_certificate(),)
    return Facts.index(residents, rows)


def _parcel(*uses: dict[str, Any], area_m2: float = 96.1, **more: Any) -> dict[str, Any]:
    """Parcel 345 of map sheet 12, the certificate's, with these land uses."""
    return {"map_sheet": 12, "parcel_no": 345, "area_m2": area_m2, "land_uses": list(uses), **more}


def _record(owner: dict[str, Any] | None = None, **changes: Any) -> Form01Record:
    record: dict[str, Any] = {
        "submission_id": "s-1",
        "commune_code": "07339",
        "certificate": {"serial": SERIAL, "book_number": "CS06999", "issued_on": "2016-05-12"},
        "holder_type": "individual",
        "owners": [
            {
                "full_name": "Nguyễn Văn An",
                "personal_id": AN.personal_id,
                "legacy_id": None,
                "date_of_birth": "1985-03-02",
                "sex": "male",
                "role": "individual",
            }
            | (owner or {})
        ],
        "parcel": _parcel({"code": "ONT", "area_m2": 96.1, "term": "Lâu dài"}),
        "collection_status": "supplied",
        "scan_file": "CK031112.pdf",
    }
    record.update(changes)
    return Form01Record.model_validate_json(orjson.dumps(record))


def _topic(decision: Decision) -> str | None:
    """Where the decision's output goes: the one routing rule, as outputs.py asks it."""
    return route(frozenset(Reason(f.code) for f in decision.reasons))[1]


def _codes(decision: Decision) -> set[str]:
    return {str(f.code) for f in decision.reasons}


def _warnings(decision: Decision) -> set[str]:
    return {str(f.code) for f in decision.warnings}


def test_a_clean_record_is_accepted_as_the_parcels_first_version() -> None:
    decision = decide(_record(), _facts(), None)

    assert (decision.outcome, decision.reasons, decision.warnings) == ("accepted", (), ())
    assert decision.version == 1


def test_missing_mandatory_fields_are_named_in_the_detail() -> None:
    decision = decide(_record(owner={"date_of_birth": None}, scan_file=None), _facts(), None)

    assert decision.outcome == "rejected"
    [finding] = [f for f in decision.reasons if f.code == "incomplete"]
    assert "scan_file" in finding.detail
    assert "owners[0].date_of_birth" in finding.detail


@pytest.mark.parametrize(
    "parcel",
    [_parcel({"code": "XYZ", "area_m2": 96.1}), _parcel({"code": "ONT", "area_m2": 80.0})],
    ids=["unknown code", "areas do not add up"],
)
def test_bad_land_uses_are_rejected(parcel: dict[str, Any]) -> None:
    assert _codes(decide(_record(parcel=parcel), _facts(), None)) == {"invalid_land_use"}


def test_legacy_land_use_codes_and_rounding_within_a_tenth_are_fine() -> None:
    parcel = _parcel({"code": "LUA", "area_m2": 50.0}, {"code": "ONT", "area_m2": 46.05})

    assert decide(_record(parcel=parcel), _facts(), None).outcome == "accepted"


def test_a_scan_not_named_after_the_serial_is_rejected() -> None:
    assert _codes(decide(_record(scan_file="scan001.pdf"), _facts(), None)) == {
        "scan_name_mismatch"
    }


def test_an_unknown_serial_is_rejected_with_the_likely_intended_one() -> None:
    record = _record(
        certificate={"serial": "CK 031113", "issued_on": "2016-05-12"}, scan_file="CK031113.pdf"
    )

    decision = decide(record, _facts(), None)

    assert _codes(decision) == {"certificate_not_found"}
    assert SERIAL in decision.reasons[0].detail


def test_serials_match_whatever_their_case_and_spacing() -> None:
    record = _record(certificate={"serial": "ck031112", "issued_on": "2016-05-12"})

    assert decide(record, _facts(), None).outcome == "accepted"


def test_a_certificate_of_another_parcel_is_rejected() -> None:
    facts = _facts(certificates=(_certificate(parcel_no=999),))

    assert _codes(decide(_record(), facts, None)) == {"certificate_parcel_mismatch"}


def test_the_parcel_as_printed_before_the_merger_is_what_the_certificate_must_match() -> None:
    facts = _facts(certificates=(_certificate(commune_code="07340", map_sheet=3, parcel_no=77),))
    parcel = _parcel(
        {"code": "ONT", "area_m2": 96.1},
        certificate_map_sheet=3,
        certificate_parcel_no=77,
        old_commune_code="07340",
    )

    assert decide(_record(parcel=parcel), facts, None).outcome == "accepted"


@pytest.mark.parametrize("status", ["revoked", "replaced"])
def test_a_revoked_or_replaced_certificate_is_rejected(status: str) -> None:
    facts = _facts(certificates=(_certificate(status=status),))

    assert _codes(decide(_record(), facts, None)) == {"certificate_superseded"}


def test_an_owner_missing_from_the_registry_is_dead_lettered() -> None:
    decision = decide(_record(owner={"personal_id": "024099999999"}), _facts(BINH), None)

    assert decision.outcome == "dead_lettered"
    assert _codes(decision) == {"owner_unresolved"}
    assert _topic(decision) == "land.dlq.owner-unresolved"


def test_a_wrong_birth_date_leaves_the_owner_unresolved() -> None:
    assert _codes(decide(_record(owner={"date_of_birth": "1985-03-20"}), _facts(), None)) == {
        "owner_unresolved"
    }


@pytest.mark.parametrize(
    "written",
    ["Nguyen Van An", "NGUYỄN  VĂN AN", "Nguyễn Văn Ân", "Ngyuễn Văn An"],
    ids=["no diacritics", "case and spaces", "one wrong mark", "swapped letters"],
)
def test_name_variants_still_match_but_are_noted(written: str) -> None:
    decision = decide(_record(owner={"full_name": written}), _facts(), None)

    assert decision.outcome == "accepted"
    expected = set() if written == "NGUYỄN  VĂN AN" else {"name_variant"}
    assert _warnings(decision) == expected


def test_another_persons_name_under_the_same_id_is_not_a_variant() -> None:
    decision = decide(_record(owner={"full_name": "Nguyễn Văn Bình"}), _facts(), None)

    assert _codes(decision) == {"owner_unresolved"}


def test_the_legacy_id_finds_the_owner_when_the_new_one_is_missing() -> None:
    decision = decide(
        _record(owner={"personal_id": None, "legacy_id": AN.legacy_id}), _facts(), None
    )

    assert decision.outcome == "accepted"
    assert _warnings(decision) == set()


def test_an_owner_without_id_is_recovered_by_a_unique_name_and_birth_date() -> None:
    decision = decide(_record(owner={"personal_id": None}), _facts(), None)

    assert decision.outcome == "accepted"
    assert _warnings(decision) == {"id_recovered"}


def test_an_owner_without_id_sharing_name_and_birth_date_is_unresolved() -> None:
    twin = Resident(
        "027085009999", None, AN.full_name, AN.name_key, AN.date_of_birth, "male", "alive"
    )

    decision = decide(_record(owner={"personal_id": None}), _facts(AN, twin), None)

    assert _codes(decision) == {"owner_unresolved"}


def test_a_deceased_owner_waits_for_an_heir() -> None:
    dead = Resident(**{**AN.__dict__, "status": "deceased"})

    assert _codes(decide(_record(), _facts(dead), None)) == {"owner_deceased"}


def test_an_absent_owner_is_dead_lettered_from_the_collection_status() -> None:
    assert _codes(decide(_record(collection_status="owner_absent"), _facts(), None)) == {
        "owner_absent"
    }


def test_a_verified_owner_who_is_not_a_holder_is_dead_lettered() -> None:
    facts = _facts(certificates=(_certificate(holder_ids=(BINH.personal_id,)),))

    assert _codes(decide(_record(), facts, None)) == {"holder_mismatch"}


@pytest.mark.parametrize(
    ("row", "status"),
    [({"mortgage_registered_on": date(2020, 1, 1)}, "supplied"), ({}, "lost_or_mortgaged")],
    ids=["active mortgage", "held by a bank"],
)
def test_a_mortgaged_plot_goes_to_the_mortgaged_queue(row: dict[str, Any], status: str) -> None:
    decision = decide(
        _record(collection_status=status), _facts(certificates=(_certificate(**row),)), None
    )

    assert _codes(decision) == {"mortgaged"}
    assert _topic(decision) == "land.dlq.mortgaged"


def test_a_released_mortgage_does_not_block() -> None:
    row = _certificate(
        mortgage_registered_on=date(2020, 1, 1), mortgage_released_on=date(2022, 1, 1)
    )

    assert decide(_record(), _facts(certificates=(row,)), None).outcome == "accepted"


def test_an_id_whose_digits_contradict_the_stated_sex_is_only_a_warning() -> None:
    # G = 1 says "female, born in the 1900s"; the registry and the form say male. The registry
    # decides who the person is; the number stays theirs.
    odd = Resident(
        "024185001234", None, AN.full_name, AN.name_key, AN.date_of_birth, "male", "alive"
    )
    facts = _facts(odd, certificates=(_certificate(holder_ids=(odd.personal_id,)),))

    decision = decide(_record(owner={"personal_id": odd.personal_id}), facts, None)

    assert decision.outcome == "accepted"
    assert _warnings(decision) == {"id_prefix_mismatch"}


def test_rejection_outranks_owner_and_mortgage_reasons() -> None:
    record = _record(
        owner={"personal_id": "024099999999"},
        scan_file="x.pdf",
        collection_status="lost_or_mortgaged",
    )

    decision = decide(record, _facts(BINH), None)

    assert decision.outcome == "rejected"
    assert _codes(decision) == {"scan_name_mismatch", "owner_unresolved", "mortgaged"}


def test_an_owner_reason_outranks_a_mortgage() -> None:
    decision = decide(_record(collection_status="owner_absent"), _facts(
        certificates=(_certificate(mortgage_registered_on=date(2020, 1, 1)),)), None)  # fmt: skip

    assert _topic(decision) == "land.dlq.owner-unresolved"


def _accepted(record: Form01Record, version: int = 1, serial: str = SERIAL) -> ParcelState:
    return ParcelState(version, uuid.uuid4(), plot_hash(record), serial_key(serial))


def test_an_identical_resubmission_is_a_duplicate_with_nothing_else() -> None:
    first = _record()
    again = _record(submission_id="s-2", scan_file="wrong-name.pdf")  # submission details differ

    decision = decide(again, _facts(), _accepted(first))

    assert decision.outcome == "duplicate"
    assert _topic(decision) is None


def test_different_content_for_an_accepted_parcel_is_a_conflict() -> None:
    changed = _record(parcel=_parcel({"code": "ONT", "area_m2": 120.0}, area_m2=120.0))

    decision = decide(changed, _facts(), _accepted(_record()))

    assert _codes(decision) == {"duplicate_conflict"}


def test_a_record_under_the_certificate_that_replaced_the_accepted_one_is_the_next_version() -> (
    None
):
    old = _certificate(serial="BĐ 123456", serial_key=serial_key("BĐ 123456"), status="replaced")
    accepted_before = _record(
        certificate={"serial": "BĐ 123456", "issued_on": "2008-01-01"}, scan_file="BĐ123456.pdf"
    )
    facts = _facts(certificates=(old, _certificate()))

    decision = decide(_record(), facts, _accepted(accepted_before, 1, "BĐ 123456"))

    assert decision.outcome == "accepted"
    assert decision.version == 2
    assert _warnings(decision) == {"supersedes_previous"}


def test_details_never_carry_names_or_ids() -> None:
    record = _record(owner={"personal_id": "024099999999", "full_name": "Lê Văn Tám"})

    decision = decide(record, _facts(BINH), None)

    text = " ".join(f.detail for f in decision.reasons + decision.warnings)
    assert "024099999999" not in text
    assert "Tám" not in text


def test_d_with_stroke_folds_to_d_for_a_name_written_without_it() -> None:
    dang = Resident("024185007777", None, "Đặng Thị Đào", fold_name("Đặng Thị Đào"),
                    date(1985, 1, 1), "female", "alive")  # fmt: skip
    facts = _facts(dang, certificates=(_certificate(holder_ids=(dang.personal_id,)),))
    owner = {"full_name": "Dang Thi Dao", "personal_id": dang.personal_id,
             "date_of_birth": "1985-01-01", "sex": "female"}  # fmt: skip

    decision = decide(_record(owner=owner), facts, None)

    assert decision.outcome == "accepted"
    assert _warnings(decision) == {"name_variant"}


def test_a_name_three_letters_off_is_not_a_typo() -> None:
    decision = decide(_record(owner={"full_name": "Nguyễn Văn Anxyz"}), _facts(), None)

    assert _codes(decision) == {"owner_unresolved"}


@pytest.mark.parametrize(
    "serial", ["CK 031112", "AA 06654954", "A 679987"], ids=["6 digits", "8 digits", "pre-2004"]
)
def test_serials_of_every_certificate_form_are_found(serial: str) -> None:
    row = _certificate(serial=serial, serial_key=serial_key(serial))
    record = _record(
        certificate={"serial": serial, "issued_on": "2016-05-12"},
        scan_file=f"{serial.replace(' ', '')}.pdf",
    )

    assert decide(record, _facts(certificates=(row,)), None).outcome == "accepted"


def test_an_8_digit_serial_is_not_its_6_digit_prefix() -> None:
    record = _record(
        certificate={"serial": "AA 066549", "issued_on": "2025-01-05"}, scan_file="AA066549.pdf"
    )
    row = _certificate(serial="AA 06654954", serial_key=serial_key("AA 06654954"))

    decision = decide(record, _facts(certificates=(row,)), None)

    assert _codes(decision) == {"certificate_not_found"}
    assert "AA 06654954" in decision.reasons[0].detail
