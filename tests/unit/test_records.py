"""The Form 01 record model: what intake accepts, how it normalises, the parcel key."""

from __future__ import annotations

import unicodedata

import orjson
import pytest
from pydantic import ValidationError

from shared.records import Form01Record
from tests.support import make_record


def _parse(record: dict[str, object]) -> Form01Record:
    return Form01Record.model_validate_json(orjson.dumps(record))


def test_the_parcel_key_is_commune_sheet_and_parcel() -> None:
    record = _parse(make_record("07396", parcel={"map_sheet": 12, "parcel_no": 345}))

    assert record.parcel_key == "07396:12:345"


def test_names_typed_in_decomposed_unicode_are_stored_in_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Nguyễn Văn An")
    record = make_record()
    record["owners"][0]["full_name"] = f"  {decomposed} "

    parsed = _parse(record)

    assert parsed.owners[0].full_name == "Nguyễn Văn An"
    assert unicodedata.is_normalized("NFC", parsed.owners[0].full_name or "")


def test_only_the_keys_are_required_everything_else_may_be_missing() -> None:
    parsed = _parse(
        {"submission_id": "s1", "commune_code": "07339", "parcel": {"map_sheet": 1, "parcel_no": 2}}
    )

    assert parsed.owners == []
    assert parsed.certificate is None


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"commune_code": "7339"}, ("commune_code",)),
        ({"commune_code": "٠٧٣٣٩"}, ("commune_code",)),  # Arabic-Indic digits are not a code
        ({"holder_type": "tenant"}, ("holder_type",)),
        ({"parcel": {"map_sheet": "1", "parcel_no": 2}}, ("parcel", "map_sheet")),
        ({"parcel": {"map_sheet": 1, "parcel_no": 2, "area_m2": -0.5}}, ("parcel", "area_m2")),
        ({"certificate": {"issued_on": "12/05/2016"}}, ("certificate", "issued_on")),
        ({"certificate": {"issued_on": 1463011200}}, ("certificate", "issued_on")),
        ({"extra_column": 1}, ("extra_column",)),
    ],
)
def test_what_cannot_be_a_form_01_record_is_refused_with_its_location(
    change: dict[str, object], where: tuple[str, ...]
) -> None:
    with pytest.raises(ValidationError) as error:
        _parse({**make_record(), **change})

    assert error.value.errors()[0]["loc"] == where


def test_four_land_uses_do_not_fit_the_form() -> None:
    use = {"code": "ONT", "area_m2": 1.0}
    with pytest.raises(ValidationError):
        _parse(make_record(parcel={"map_sheet": 1, "parcel_no": 2, "land_uses": [use] * 4}))


def test_the_content_hash_ignores_key_order_but_not_content() -> None:
    record = make_record()
    reordered = dict(reversed(list(record.items())))

    assert _parse(record).content_hash() == _parse(reordered).content_hash()
    assert _parse(record).content_hash() != _parse({**record, "scan_file": "x.pdf"}).content_hash()


@pytest.mark.parametrize(
    ("path", "character"),
    [
        (("submission_id",), "\x00"),
        (("certificate", "serial"), "\x00"),
        (("owners", 0, "full_name"), "\t"),
        (("parcel", "land_uses", 0, "code"), "\x1f"),
        (("scan_file",), "\n"),
    ],
)
def test_text_holding_a_control_character_is_refused_naming_the_field(
    path: tuple[str | int, ...], character: str
) -> None:
    record = make_record()
    target: object = record
    for step in path[:-1]:
        target = target[step]  # type: ignore[index]
    target[path[-1]] = f"ab{character}cd"  # type: ignore[index]

    with pytest.raises(ValidationError) as refused:
        _parse(record)

    [error] = refused.value.errors()
    assert error["loc"] == path
    assert error["type"] == "control_character"
    assert f"U+{ord(character):04X}" in error["msg"]
