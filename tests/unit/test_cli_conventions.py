"""CLI conventions: choices in the help, --version, whole ids in tables, fixed CSV columns."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from importlib.metadata import version
from typing import get_args

import pytest
from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

from shared.auth import KeyListing
from shared.cli.dlq_commands import dead_letters_table
from shared.cli.key_commands import a_key, key_options, keys_table
from shared.cli.main import app
from shared.cli.records_commands import records_table
from shared.report import Row
from shared.report_formats import CSV_COLUMNS, as_csv
from shared.synthetic import communes
from shared.topics import DLQ_QUEUES, DlqQueue
from tests.support import run_cli

RECORD_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
SUBMISSION_ID = "tan-yen-2025-3fa91c-000123"


def _help(*command: str) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize(
    ("command", "choices"),
    [
        (["keys", "create"], "<submitter|operator|viewer>"),
        (["dlq", "list"], "<owner-unresolved|mortgaged|sync-failed|poison>"),
        (["dlq", "show"], "<owner-unresolved|mortgaged|sync-failed|poison>"),
        (["dlq", "replay"], "<owner-unresolved|mortgaged|sync-failed|poison>"),
        (["registry", "load"], "<residents|certificates>"),
        (["report"], "<table|csv|json|html>"),
        (["records", "list"], "<table|csv|jsonl>"),
        (["records", "export"], "<table|csv|jsonl>"),
        (["records", "list"], "<received|accepted|synced|rejected|dead_lettered|duplicate>"),
        (["generate"], "<jsonl|xlsx>"),
    ],
)
def test_the_help_shows_the_choices_of_an_option(command: list[str], choices: str) -> None:
    assert choices in _help(*command)


def test_the_queue_choices_are_the_dead_letter_queues() -> None:
    assert get_args(DlqQueue) == tuple(DLQ_QUEUES)


def test_a_value_outside_the_choices_is_refused_naming_them() -> None:
    done = run_cli(
        {"COLUMNS": "300", "PATH": "/usr/bin:/bin"}, "keys", "create", "--role", "admin", timeout=60
    )

    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "'admin' is not one of 'submitter', 'operator', 'viewer'" in line


def test_version_prints_the_installed_version() -> None:
    result = CliRunner().invoke(app, ["--version"])

    assert result.exit_code == 0
    assert result.output.strip() == f"landsync {version('landsync')}"


@pytest.mark.parametrize(
    ("role", "said"),
    [("operator", "an operator key"), ("submitter", "a submitter key"), ("viewer", "a viewer key")],
)
def test_a_key_takes_the_article_its_role_needs(role: str, said: str) -> None:
    assert a_key(role) == said


def test_the_refusal_of_a_commune_on_a_viewer_key_reads_right() -> None:
    with pytest.raises(ValueError, match="a viewer key reads every commune"):
        key_options("viewer", ["07339"], expires_in=None, expires=None, now=datetime.now(UTC))


def _narrow(table: Table) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=80).print(table)
    return out.getvalue().splitlines()


def _whole_on_one_line(text: str, lines: list[str]) -> bool:
    return any(text in line for line in lines)


def test_dead_letter_record_ids_are_never_wrapped() -> None:
    letter = {
        "record_id": RECORD_ID,
        "commune_code": "07339",
        "reasons": ["owner_unresolved", "holder_mismatch", "mortgaged"],
        "replay_count": 0,
        "replayed": False,
        "dead_lettered_at": "2025-09-01T08:00:00+00:00",
        "detail": "no resident with that personal ID; the name and birth date match none " * 2,
    }
    lines = _narrow(dead_letters_table({"queue": "owner-unresolved", "dead_letters": [letter]}))

    assert _whole_on_one_line(RECORD_ID, lines)


def test_key_ids_are_never_wrapped() -> None:
    key = KeyListing(
        "0123456789ab", "submitter", ["07339", "07340", "07341"], "the commune office's laptop",
        datetime(2025, 9, 1, tzinfo=UTC), datetime(2025, 12, 1, tzinfo=UTC), None,
    )  # fmt: skip
    assert _whole_on_one_line("0123456789ab", _narrow(keys_table([key])))


def test_worklist_submission_ids_and_parcel_keys_are_never_wrapped() -> None:
    reason = {
        "code": "certificate_not_found",
        "text_vi": "Không tìm thấy giấy chứng nhận",
        "text_en": "certificate not found",
        "detail": "did you mean CK 031112?",
        "action_vi": "Kiểm tra số phát hành",
        "action_en": "check the serial",
    }
    item = {
        "submission_id": SUBMISSION_ID,
        "parcel_key": "07339:12:3456",
        "certificate_serial": "CK 031112",
        "status": "rejected",
        "reasons": [reason],
    }
    lines = _narrow(records_table([item]))

    assert _whole_on_one_line(SUBMISSION_ID, lines)
    assert _whole_on_one_line("07339:12:3456", lines)


def _csv(rows: list[Row]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(as_csv(rows))))


def test_the_report_csv_has_the_same_columns_whatever_the_reasons_seen() -> None:
    code, name = communes()[0]
    quiet = [Row(code, cases=2), Row(None, cases=2)]
    busy = [
        Row(code, cases=3, cases_open=2, open_by_reason={"incomplete": 1, "mortgaged": 1},
            rejected=1, rejected_by_reason={"incomplete": 1}, dead_lettered=1,
            dead_lettered_by_reason={"mortgaged": 1, "a_code_from_later": 2}),
        Row(None, cases=3),
    ]  # fmt: skip

    assert as_csv(quiet).splitlines()[0] == as_csv(busy).splitlines()[0] == ",".join(CSV_COLUMNS)
    commune, province = _csv(busy)
    assert commune["commune_code"] == code
    assert commune["commune_name"] == name
    assert commune["open:incomplete"] == commune["open:mortgaged"] == "1"
    assert commune["open:owner_unresolved"] == "0"
    assert commune["rejected:incomplete"] == "1"
    assert commune["dead_lettered:mortgaged"] == "1"
    assert commune["dead_lettered:other"] == "2"
    assert province["commune_code"] == "province"
    assert province["commune_name"] == ""
    assert province["target_plots"] == ""  # no target: an empty cell, not 0
