"""Reading Form 01 rows into records: grouping, Vietnamese conventions, ids, per-row errors."""

from __future__ import annotations

import copy
import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from services.intake.validation import check
from shared.form01.outcome import outcomes
from shared.form01.reader import read_form
from shared.form01.rows import Parsed
from shared.form01.template import TEMPLATES
from shared.records import Form01Record
from tests.form01_files import edited, form_file
from tests.support import make_record

PL3_49 = TEMPLATES["PL3-49"]


def _col(key: str) -> int:
    return PL3_49.index(key) + 1


def _couple() -> dict[str, Any]:
    record = make_record(holder_type="couple")
    wife = dict(record["owners"][0], full_name="Trần Thị Bình", personal_id="024186001235")
    record["owners"] = [
        dict(record["owners"][0], role="husband"),
        dict(wife, role="wife", sex="female", date_of_birth="1986-07-09"),
    ]
    return record


def _same_content(parsed: Parsed, record: dict[str, Any]) -> None:
    [(_, got)] = parsed.records
    want = Form01Record.model_validate_json(orjson.dumps(record))
    have = Form01Record.model_validate_json(orjson.dumps(got))
    exclude = {"submission_id"}
    assert have.model_dump(exclude=exclude) == want.model_dump(exclude=exclude)


def test_a_couple_written_as_two_owner_rows_reads_back_as_one_record(tmp_path: Path) -> None:
    record = _couple()
    parsed = read_form(form_file(tmp_path / "f.xlsx", [record]))

    assert parsed.rows == 2
    assert parsed.errors == []
    _same_content(parsed, record)
    [(group, got)] = parsed.records
    assert group.rows == [3, 4]
    assert [o["role"] for o in got["owners"]] == ["husband", "wife"]


def _couple_apart(path: Path) -> tuple[Path, dict[str, Any]]:
    """A couple and another record, the wife's row (4) moved below the other record's (5)."""
    first = _couple()
    form_file(path, [first, make_record()])
    with edited(path) as sheet:
        sheet.move_range("A4:AW5", rows=1)
        sheet.move_range("A6:AW6", rows=-2)
    return path, first


def test_owner_rows_of_one_parcel_are_grouped_even_when_not_adjacent(tmp_path: Path) -> None:
    path, first = _couple_apart(tmp_path / "f.xlsx")

    parsed = read_form(path)

    assert [g.rows for g, _ in parsed.records] == [[3, 5], [4]]
    # The record is whole, though the row of its wife came after the other record's.
    [(_, couple), _] = parsed.records
    assert [o["role"] for o in couple["owners"]] == ["husband", "wife"]
    _same_content(Parsed(PL3_49, groups=[parsed.groups[0]]), first)


def test_a_later_row_that_disagrees_refuses_a_record_after_another_began(tmp_path: Path) -> None:
    path, _ = _couple_apart(tmp_path / "f.xlsx")
    with edited(path) as sheet:
        sheet.cell(5, _col("area"), "100")

    parsed = read_form(path)

    [error] = parsed.errors
    assert (error.row, error.column) == (5, "Z")
    assert "differs from row 3" in error.msg
    assert [g.rows for g, _ in parsed.records] == [[4]]


def test_vietnamese_numbers_dates_and_lost_leading_zeros_are_read(tmp_path: Path) -> None:
    record = make_record()
    path = form_file(tmp_path / "f.xlsx", [record])
    with edited(path) as sheet:
        sheet.cell(3, _col("personal_id"), 24085001234.0)  # Excel took the CCCD for a number
        sheet.cell(3, _col("commune_code"), 7339)
        sheet.cell(3, _col("area"), " 96,1\u00a0")  # decimal comma and a no-break space
        sheet.cell(3, _col("issued_on"), 42502)  # an Excel date serial: 12/05/2016
        sheet.cell(3, _col("date_of_birth"), date(1985, 3, 2))  # a real date cell
        sheet.cell(3, _col("map_sheet"), float(record["parcel"]["map_sheet"]))
        sheet.cell(3, _col("sex"), "NAM")

    parsed = read_form(path)

    assert parsed.errors == []
    _same_content(parsed, record)


def test_a_bad_cell_is_an_error_naming_row_column_and_field(tmp_path: Path) -> None:
    record = _couple()
    path = form_file(tmp_path / "f.xlsx", [record, make_record()])
    with edited(path) as sheet:
        sheet.cell(4, _col("date_of_birth"), "31/02/1986")
        sheet.cell(4, _col("sex"), "không rõ")

    parsed = read_form(path)

    errors = [e.as_json() for e in parsed.errors]
    assert [(e["row"], e["column"], e["field"]) for e in errors] == [
        (4, "K", "owners[].sex"),
        (4, "L", "owners[].date_of_birth"),
    ]
    assert "dd/mm/yyyy" in errors[1]["msg"]
    assert len(parsed.records) == 1  # the other record still goes in


def test_what_intakes_record_model_refuses_is_named_on_the_owner_row_and_cell(
    tmp_path: Path,
) -> None:
    record = _couple()
    path = form_file(tmp_path / "f.xlsx", [record])
    with edited(path) as sheet:
        sheet.cell(4, _col("full_name"), "An" * 300)  # longer than any name
        sheet.cell(3, _col("area"), "-5")
    parsed = read_form(path)

    # The record is validated once, by intake's own check (as a JSON record is), and its
    # refusal is put back on the rows and cells the fields came from.
    checked = check([(i, orjson.dumps(r)) for i, (_, r) in enumerate(parsed.records)])
    errors = [e.as_json() for e in outcomes(parsed, [], checked.errors).errors]

    assert [(e["row"], e["column"], e["field"]) for e in errors] == [
        (3, "Z", "parcel.area_m2"),
        (4, "J", "owners[1].full_name"),
    ]


def test_rows_of_one_record_that_disagree_are_refused(tmp_path: Path) -> None:
    path = form_file(tmp_path / "f.xlsx", [_couple()])
    with edited(path) as sheet:
        sheet.cell(4, _col("area"), "100")

    parsed = read_form(path)

    [error] = parsed.errors
    assert (error.row, error.column) == (4, "Z")
    assert "differs from row 3" in error.msg
    assert parsed.records == []


def test_a_row_without_its_parcel_number_is_refused_alone(tmp_path: Path) -> None:
    path = form_file(tmp_path / "f.xlsx", [make_record(), make_record()])
    with edited(path) as sheet:
        sheet.cell(4, _col("parcel_no")).value = None

    parsed = read_form(path)

    [error] = parsed.errors
    assert (error.row, error.column, error.field) == (4, "X", "parcel.parcel_no")
    assert len(parsed.records) == 1


def test_the_same_rows_give_the_same_submission_ids_and_an_edit_a_new_one(
    tmp_path: Path,
) -> None:
    records = [make_record(), _couple()]
    first = read_form(form_file(tmp_path / "a.xlsx", records))
    again = read_form(form_file(tmp_path / "b.xlsx", list(reversed(records))))
    edited = copy.deepcopy(records)
    edited[1]["owners"][1]["full_name"] = "Trần Thị Bính"
    corrected = read_form(form_file(tmp_path / "c.xlsx", edited))

    ids = [r["submission_id"] for _, r in first.records]
    assert sorted(r["submission_id"] for _, r in again.records) == sorted(ids)
    changed = [r["submission_id"] for _, r in corrected.records]
    assert changed[0] == ids[0]
    assert changed[1] != ids[1]
    assert changed[1].startswith(f"f01-07339-{records[1]['parcel']['map_sheet']}-")


_NOT_HASHED = {"submission_id", "template_version"}


def test_the_submission_id_is_the_digest_docs_form01_defines(tmp_path: Path) -> None:
    records = [make_record(), _couple()]
    records[0]["parcel"]["land_uses"].append(dict(records[0]["parcel"]["land_uses"][0]))
    parsed = read_form(form_file(tmp_path / "f.xlsx", records))

    for group, record in parsed.records:
        assert group.record is not None
        # Keys sorted at every level: the record's JSON is its content's, with two keys after.
        content = {k: v for k, v in record.items() if k not in _NOT_HASHED}
        canonical = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
        assert group.record.startswith(canonical[:-1])
        digest = hashlib.sha256(canonical).hexdigest()[:12]
        parcel = record["parcel"]
        want = f"f01-{record['commune_code']}-{parcel['map_sheet']}-{parcel['parcel_no']}-{digest}"
        assert record["submission_id"] == want


def test_the_38_column_version_reads_the_same_record(tmp_path: Path) -> None:
    record = _couple()
    parsed = read_form(form_file(tmp_path / "f.xlsx", [record], TEMPLATES["PL3-38"]))

    assert parsed.template.version == "PL3-38"
    [(_, got)] = parsed.records
    assert got["template_version"] == "PL3-38"
    long = read_form(form_file(tmp_path / "g.xlsx", [record]))
    assert long.records[0][1]["submission_id"] == got["submission_id"]


def _csv(path: Path, encoding: str, records: list[dict[str, Any]]) -> Path:
    from shared.form01.export import write_csv  # noqa: PLC0415

    write_csv(path, PL3_49, records)
    text = path.read_text(encoding="utf-8-sig")
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_in_utf8_utf8_bom_and_utf16_reads_the_same_records(tmp_path: Path) -> None:
    record = _couple()
    for encoding in ("utf-8", "utf-8-sig", "utf-16"):
        parsed = read_form(_csv(tmp_path / f"{encoding}.csv", encoding, [record]))
        assert parsed.errors == [], encoding
        _same_content(parsed, record)


def test_blank_rows_between_records_are_skipped_and_rows_keep_their_numbers(
    tmp_path: Path,
) -> None:
    path = form_file(tmp_path / "f.xlsx", [make_record(), make_record()])
    with edited(path) as sheet:
        sheet.insert_rows(4, amount=2)  # rows 4 and 5: one empty, one of spaces (NBSP too)
        for col in range(1, 6):
            sheet.cell(5, col, " \u00a0 ")

    parsed = read_form(path)

    assert parsed.errors == []
    assert [group.rows for group, _ in parsed.records] == [[3], [6]]
