"""The annotated workbook: the commune's file untouched, plus status, reasons and yellow cells."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from shared.form01.annotate import REFUSED_FILL, annotated
from shared.form01.decided import stored_rows, with_decisions
from shared.form01.outcome import outcomes, record_ids_by_row
from shared.form01.reader import read_form
from shared.form01.template import REASONS_HEADER, STATUS_HEADER
from tests.form01_files import cells_of, edited, form_file
from tests.support import make_record


def test_the_annotated_copy_adds_status_and_reasons_and_marks_the_refused_cell(
    tmp_path: Path,
) -> None:
    path = form_file(tmp_path / "f.xlsx", [make_record(), make_record(), make_record()])
    with edited(path) as sheet:
        sheet["L4"] = "32/13/1985"  # the second record's birth date
    before = cells_of(path)
    parsed = read_form(path)
    # What intake answers for the two records sent: one new, one it had already.
    results = [
        {"index": 0, "record_id": "r1", "status": "received"},
        {"index": 1, "record_id": "r2", "status": "duplicate_submission"},
    ]

    out = tmp_path / "annotated.xlsx"
    out.write_bytes(
        annotated(path, parsed.template, 2, outcomes(parsed, results, []), "Biểu mẫu 01")
    )

    after = cells_of(out)
    assert [row[:49] for row in after] == [row[:49] for row in before]  # nothing else changed
    assert after[1][49:51] == [STATUS_HEADER, REASONS_HEADER]
    assert after[2][49] == "Đã nhận / received"
    assert after[3][49] == "Bị từ chối / refused"
    assert after[3][50].startswith("cột L (Ngày sinh) không hợp lệ: '32/13/1985' is not a date")
    assert after[4][49] == "Đã nhận trước đó / already received"
    sheet = load_workbook(out).worksheets[0]
    assert sheet["L4"].fill.fgColor.rgb == REFUSED_FILL.fgColor.rgb
    assert sheet["L3"].fill.fgColor.rgb != REFUSED_FILL.fgColor.rgb
    assert sheet.freeze_panes == "A3"  # the commune's own layout is kept


def test_intake_refusals_are_written_on_the_records_rows(tmp_path: Path) -> None:
    path = form_file(tmp_path / "f.xlsx", [make_record(commune="09187")])
    parsed = read_form(path)
    refused = [
        {
            "index": 0,
            "errors": [
                {
                    "loc": ["commune_code"],
                    "msg": "this API key may not submit for commune 09187",
                    "type": "forbidden_commune",
                }
            ],
        }
    ]

    result = outcomes(parsed, [], refused)

    assert result.rows[3].status == "Bị từ chối / refused"
    assert result.rows[3].reasons[0].startswith("khóa API không được gửi hồ sơ của xã này")
    assert [e.as_json()["field"] for e in result.errors] == ["commune_code"]


def test_the_annotated_copy_fixed_in_place_imports_again_with_the_same_ids(
    tmp_path: Path,
) -> None:
    # The commune officer's path: import, fix the yellow cell in the annotated copy, import it.
    path = form_file(tmp_path / "f.xlsx", [make_record(), make_record()])
    with edited(path) as sheet:
        sheet["L4"] = "32/13/1985"
    first = read_form(path)
    results = [{"index": 0, "record_id": "r1", "status": "received"}]
    checked = tmp_path / "f.checked.xlsx"
    checked.write_bytes(
        annotated(path, first.template, 2, outcomes(first, results, []), "Biểu mẫu 01")
    )
    with edited(checked) as sheet:
        sheet["L4"] = "12/05/1985"

    again = read_form(checked)

    assert again.errors == []
    ids = [r["submission_id"] for _, r in again.records]
    assert ids[0] == first.records[0][1]["submission_id"]  # unchanged: "already received"
    assert len(ids) == 2  # the fixed row is a record now


def test_a_rejections_fields_are_marked_on_the_row_that_holds_them(tmp_path: Path) -> None:
    couple = make_record(holder_type="couple")
    husband = couple["owners"][0]
    husband["role"] = "husband"
    couple["owners"].append({**husband, "role": "wife", "sex": "female", "full_name": "Lê Thị Hoa"})
    path = form_file(tmp_path / "f.xlsx", [couple, make_record()])  # rows 3-4, then row 5
    parsed = read_form(path)
    template = parsed.template
    results = [
        {"index": 0, "record_id": "r1", "status": "received"},
        {"index": 1, "record_id": "r2", "status": "received"},
    ]
    rows = stored_rows(outcomes(parsed, results, []), record_ids_by_row(parsed, results))
    missing = "missing: certificate.issued_on, owners[1].date_of_birth"
    decisions = {
        "r1": {"status": "rejected", "reasons": [{"code": "incomplete", "detail": missing}]},
        "r2": {"status": "rejected", "reasons": [{"code": "certificate_not_found"}]},
    }

    result = with_decisions(rows, decisions, template)

    issued, born, serial = (template.letter(template.index(k))
                            for k in ("issued_on", "date_of_birth", "serial"))  # fmt: skip
    assert result.rows[3].columns == {issued}  # the record's own field: on its first row
    assert result.rows[4].columns == {born}  # the second owner's birth date: on the wife's row
    assert result.rows[5].columns == {serial}
    out = tmp_path / "annotated.xlsx"
    out.write_bytes(annotated(path, template, 2, result, "Biểu mẫu 01"))
    sheet = load_workbook(out).worksheets[0]
    assert sheet[f"{born}4"].fill.fgColor.rgb == REFUSED_FILL.fgColor.rgb
    assert sheet[f"{born}3"].fill.fgColor.rgb != REFUSED_FILL.fgColor.rgb
    assert sheet["AX5"].value == "Bị trả lại / rejected"
