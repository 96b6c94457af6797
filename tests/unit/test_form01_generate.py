"""``landsync generate --format xlsx``: the province as Form 01 workbooks, with their truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from shared.form01.errors import FormRefused
from shared.form01.province import write_province
from shared.form01.reader import read_form
from shared.generate.province import generate
from shared.generate.rates import Rates
from shared.records import Form01Record


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("province")
    generate(out, communes_count=1, plots=300, seed=5, rates=Rates())
    write_province(out)
    return out


def test_every_generated_record_has_its_truth_under_the_id_the_import_gives(
    province: Path,
) -> None:
    folder = province / "form01"
    truth = [json.loads(line) for line in (folder / "truth.jsonl").read_text().splitlines()]
    records = (province / "records.jsonl").read_text().splitlines()
    imported = [
        record["submission_id"]
        for name in (folder / "files.txt").read_text().split()
        for _, record in read_form(folder / name).records
    ]

    assert len(truth) == len(records)
    assert sorted(t["submission_id"] for t in truth) == sorted(imported)


def test_the_structure_error_files_are_each_refused_whole(province: Path) -> None:
    broken = province / "form01" / "structure"
    lines = (broken / "structure-truth.jsonl").read_text().splitlines()

    for line in map(json.loads, lines):
        with pytest.raises(FormRefused) as refused:
            read_form(broken / line["file"])
        assert refused.value.code == line["outcome"]
    assert len(lines) == 3


def _content(record: dict[str, Any]) -> dict[str, Any]:
    model = Form01Record.model_validate_json(orjson.dumps(record))
    return model.model_dump(exclude={"submission_id", "template_version"})


def test_the_workbooks_carry_the_json_records_content_unchanged(province: Path) -> None:
    folder = province / "form01"
    records = [
        orjson.loads(line) for line in (province / "records.jsonl").read_bytes().splitlines()
    ]
    imported = [
        record
        for name in (folder / "files.txt").read_text().split()
        for _, record in read_form(folder / name).records
    ]

    assert sorted(map(repr, map(_content, imported))) == sorted(map(repr, map(_content, records)))
