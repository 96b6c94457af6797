"""``POST /v1/imports/form01`` and ``GET /v1/imports/{id}[/annotated.xlsx]`` on the real stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from openpyxl.styles import Font

from shared.form01.decided import STATUS
from shared.form01.export import write_csv
from shared.form01.limits import Limits
from shared.form01.outcome import RECEIVED
from shared.form01.sources import open_sheet
from shared.form01.template import TEMPLATES
from shared.settings import Settings
from tests.conftest import KeyFactory
from tests.form01_files import cells_of, edited, form_file
from tests.support import bearer, eventually, landsync, make_record

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def test_a_workbook_posted_is_imported_once_and_annotated_with_decisions(
    intake: httpx.AsyncClient, new_key: KeyFactory, settings: Settings, tmp_path: Path
) -> None:
    key = await new_key("submitter", ["07339"])
    records = [make_record("07339"), make_record("07339"), make_record("09187")]
    path = form_file(tmp_path / "f.xlsx", records)
    with edited(path) as sheet:
        sheet["Z4"] = "chín mươi"  # the second record's area is not a number
    headers = bearer(key) | {"Content-Type": XLSX}

    first = await intake.post("/v1/imports/form01", content=path.read_bytes(), headers=headers)

    assert first.status_code == 202, first.text
    body = first.json()
    assert (body["template_version"], body["rows"], body["records"]) == ("PL3-49", 3, 3)
    assert [r["status"] for r in body["results"]] == ["received"]
    assert {(e["row"], e["column"], e["field"]) for e in body["errors"]} >= {
        (4, "Z", "parcel.area_m2")
    }
    assert any(e["row"] == 5 and e["field"] == "commune_code" for e in body["errors"])

    again = await intake.post(
        "/v1/imports/form01",
        files={"file": ("f.xlsx", path.read_bytes(), XLSX)},
        headers=bearer(key),
    )
    assert again.status_code == 202, again.text
    assert [r["status"] for r in again.json()["results"]] == ["duplicate_submission"]
    assert again.json()["results"][0]["record_id"] == body["results"][0]["record_id"]

    import_id = body["import_id"]

    async def decided() -> dict[str, Any] | None:
        shown = (await intake.get(f"/v1/imports/{import_id}", headers=bearer(key))).json()
        return shown if shown["items"][0]["status"] != "received" else None

    shown = await eventually(decided, timeout=60)
    assert shown is not None
    decision = shown["items"][0]["status"]
    annotated = await intake.get(f"/v1/imports/{import_id}/annotated.xlsx", headers=bearer(key))
    assert annotated.status_code == 200
    out = tmp_path / "annotated.xlsx"
    out.write_bytes(annotated.content)
    cells = cells_of(out)
    assert cells[2][49] == STATUS[decision]
    assert cells[3][49] == "Bị từ chối / refused"
    assert "cột Z (Diện tích thửa (m²)) không hợp lệ" in cells[3][50]

    from_cli = tmp_path / "from-cli.xlsx"
    status = landsync(settings, "import", "status", import_id, "--annotated", str(from_cli))
    assert status.returncode == 0, status.stderr
    assert decision in status.stderr
    assert cells_of(from_cli)[2][49] == STATUS[decision]

    other = await new_key("submitter", ["09187"])
    assert (await intake.get(f"/v1/imports/{import_id}", headers=bearer(other))).status_code == 403


async def test_a_wrong_structure_or_a_bad_file_is_refused_whole(
    intake: httpx.AsyncClient, new_key: KeyFactory, tmp_path: Path
) -> None:
    key = await new_key("submitter", ["07339"])
    path = form_file(tmp_path / "f.xlsx", [make_record("07339")])
    with edited(path) as sheet:
        sheet["M2"] = "Ngày sinh"
    headers = bearer(key) | {"Content-Type": XLSX}

    shifted = await intake.post("/v1/imports/form01", content=path.read_bytes(), headers=headers)
    pdf = await intake.post("/v1/imports/form01", content=b"%PDF-1.7\n" * 50, headers=headers)

    assert shifted.status_code == 422
    assert shifted.json()["error"]["code"] == "form_structure"
    assert shifted.json()["error"]["column"] == "M"
    assert pdf.status_code == 422
    assert pdf.json()["error"]["code"] == "bad_file"


async def test_a_csv_body_and_a_named_workbook_are_imported_as_the_docs_say(
    intake: httpx.AsyncClient, new_key: KeyFactory, tmp_path: Path
) -> None:
    key = await new_key("submitter", ["07339"])
    csv_path = tmp_path / "f.csv"
    write_csv(csv_path, TEMPLATES["PL3-49"], [make_record("07339"), make_record("07339")])
    workbook = form_file(tmp_path / "f.xlsx", [make_record("07339")])
    url = "/v1/imports/form01"

    # As a CSV export is sent: the body as it is, its Content-Type saying what it is.
    as_csv = await intake.post(
        url, content=csv_path.read_bytes(), headers=bearer(key) | {"Content-Type": "text/csv"}
    )
    # docs/form01.md: "?name=FILE keeps its name".
    named = await intake.post(
        url,
        params={"name": "Mẫu 01 xã Tân Yên.xlsx"},
        content=workbook.read_bytes(),
        headers=bearer(key) | {"Content-Type": XLSX},
    )
    # A name no file system takes is refused with a reason, not a 500; so is a misspelt one.
    control = await intake.post(
        url, params={"name": "f\x00.csv"}, content=csv_path.read_bytes(), headers=bearer(key)
    )
    misspelt = await intake.post(
        url, params={"nam": "f.csv"}, content=csv_path.read_bytes(), headers=bearer(key)
    )

    assert as_csv.status_code == 202, as_csv.text
    assert (as_csv.json()["rows"], as_csv.json()["records"]) == (2, 2)
    assert [r["status"] for r in as_csv.json()["results"]] == ["received", "received"]
    annotated = await intake.get(
        f"/v1/imports/{as_csv.json()['import_id']}/annotated.xlsx", headers=bearer(key)
    )
    assert annotated.status_code == 200, annotated.text
    (tmp_path / "csv-annotated.xlsx").write_bytes(annotated.content)
    # A body sent without a name is annotated too: its rows, each with its status.
    rows = cells_of(tmp_path / "csv-annotated.xlsx")
    assert [row[0] for row in rows[2:4]] == ["07339", "07339"]
    assert {row[49] for row in rows[2:4]} <= {RECEIVED, *STATUS.values()}
    assert named.status_code == 202, named.text
    shown = await intake.get(f"/v1/imports/{named.json()['import_id']}", headers=bearer(key))
    assert shown.json()["file_name"] == "Mẫu 01 xã Tân Yên.xlsx"
    for refused, where in ((control, ["query", "name"]), (misspelt, ["query", "nam"])):
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["errors"][0]["loc"] == where


async def test_a_tall_sheet_streamed_by_a_child_of_intake_is_imported_as_a_short_one(
    intake: httpx.AsyncClient, new_key: KeyFactory, tmp_path: Path
) -> None:
    key = await new_key("submitter", ["07339"])
    path = form_file(tmp_path / "tall.xlsx", [make_record("07339"), make_record("07339")])
    with edited(path) as sheet:
        sheet.cell(10_001, 1).font = Font(bold=True)  # a formatted, empty cell far down
    sheet_read = open_sheet(path, Limits())
    sheet_read.close()
    # As tall as a sheet whose rows intake streams in a process of its own, beside its own.
    assert sheet_read.height >= Limits().child_stream_rows

    answer = await intake.post(
        "/v1/imports/form01",
        content=path.read_bytes(),
        headers=bearer(key) | {"Content-Type": XLSX},
    )

    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert (body["rows"], body["records"], body["errors"]) == (2, 2, [])
    assert [r["status"] for r in body["results"]] == ["received", "received"]
