"""``landsync`` fails in one line with a status per kind: stack down, bad settings, bad files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from shared.cli.failures import Status, explain
from shared.settings import Settings, unknown_variables
from shared.stack import StackError
from shared.stack.services import child_env
from tests.support import free_port, make_record, one_line, records_file, run_cli


@pytest.fixture
def stopped(tmp_path: Path) -> Settings:
    """Settings of a stack that is not running: its ports have no listener."""
    return Settings(
        state_dir=tmp_path / "state",
        postgres_port=free_port(),
        intake_port=free_port(),
        kafka_port=free_port(),
    )


def _landsync(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``landsync`` against the stack of ``settings``, with these variables set too."""
    # A wide console: a long line stays one line.
    return run_cli({**child_env(settings), "COLUMNS": "300", **env}, *args, timeout=60)


@pytest.mark.parametrize(
    "command",
    [
        ["report"],
        ["report", "--format", "csv"],
        ["keys", "create", "--role", "operator"],
        ["keys", "list"],
        ["dlq", "list", "poison"],
        ["records", "list", "--commune", "07339"],
    ],
)
def test_a_command_against_a_stopped_stack_says_postgresql_is_down_inone_line(
    stopped: Settings, command: list[str]
) -> None:
    done = _landsync(stopped, *command)

    assert one_line(done, Status.UNREACHABLE) == (
        f"PostgreSQL at 127.0.0.1:{stopped.postgres_port} is not reachable: run `landsync up`"
    )


def test_a_registry_load_against_a_stopped_stack_is_one_line_too(
    stopped: Settings, tmp_path: Path
) -> None:
    residents = tmp_path / "residents.csv"
    residents.write_text("personal_id,full_name\n", encoding="utf-8")

    done = _landsync(stopped, "registry", "load", "residents", str(residents))

    assert one_line(done, Status.UNREACHABLE).startswith(
        f"PostgreSQL at 127.0.0.1:{stopped.postgres_port} is not"
    )


def test_submit_to_a_stopped_intake_names_intake_and_its_address(
    stopped: Settings, tmp_path: Path
) -> None:
    records = records_file(tmp_path / "records.jsonl", make_record())

    done = _landsync(stopped, "submit", str(records), "--key", "lsk_x_y")

    line = one_line(done, Status.UNREACHABLE)
    assert line.startswith(f"intake at http://127.0.0.1:{stopped.intake_port} is not reachable")
    assert "landsync up" in line


def test_debug_adds_the_traceback_before_the_same_line(stopped: Settings) -> None:
    done = _landsync(stopped, "--debug", "report")

    assert done.returncode == Status.UNREACHABLE
    assert "Traceback (most recent call last)" in done.stderr
    assert "ConnectionRefusedError" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("PostgreSQL at 127.0.0.1:")


def test_a_value_that_is_not_a_number_names_its_variable(stopped: Settings) -> None:
    done = _landsync(stopped, "report", LANDSYNC_INTAKE_PORT="abc")

    line = one_line(done, Status.CONFIG)
    assert line.startswith("LANDSYNC_INTAKE_PORT=abc is not valid (")
    assert "integer" in line


def test_an_invalid_text_setting_is_named_without_its_value(stopped: Settings) -> None:
    # A text setting may be a password or a URL with one: the line never repeats it.
    done = _landsync(stopped, "report", LANDSYNC_KAFKA_SASL_MECHANISM="PLAIN-secret-looking")

    line = one_line(done, Status.CONFIG)
    assert line.startswith("LANDSYNC_KAFKA_SASL_MECHANISM is not valid")
    assert "secret-looking" not in line


def test_an_unknown_landsync_variable_is_a_warning_with_the_close_name(stopped: Settings) -> None:
    done = _landsync(stopped, "status", "--json", LANDSYNC_INTAKE_PROT="18080")

    assert orjson.loads(done.stdout)["state_dir"]
    assert one_line(done, Status.OK) == (
        "warning: LANDSYNC_INTAKE_PROT is no LandSync setting; it is ignored"
        " (did you mean LANDSYNC_INTAKE_PORT?)"
    )


def test_unknown_variables_skip_settings_in_any_case_and_the_test_suites_own() -> None:
    environ = {
        "LANDSYNC_NATIONAL_DB_TOKN": "x",
        "LANDSYNC_WHATEVER": "x",
        "LANDSYNC_INTAKE_PORT": "1",
        "landsync_log_level": "DEBUG",
        "LANDSYNC_TEST_PORT_BASE": "45000",
        "PATH": os.environ.get("PATH", ""),
    }

    assert unknown_variables(environ) == {
        "LANDSYNC_NATIONAL_DB_TOKN": "LANDSYNC_NATIONAL_DB_TOKEN",
        "LANDSYNC_WHATEVER": None,
    }


def test_a_csv_given_to_submit_is_refused_with_the_command_that_takes_it(
    stopped: Settings, tmp_path: Path
) -> None:
    form = tmp_path / "form01.csv"
    form.write_text("submission_id,commune_code\ntan-yen-1,07339\n", encoding="utf-8")

    done = _landsync(stopped, "submit", str(form))

    line = one_line(done, Status.USAGE)
    assert line.startswith(f"{form} line 1 is not JSON")
    assert f"`landsync import {form}`" in line


def test_a_line_that_is_not_json_is_named_by_its_number(stopped: Settings, tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    good = orjson.dumps(make_record())
    records.write_bytes(good + b"\n\n" + good + b"\n{not json\n")

    done = _landsync(stopped, "submit", str(records))

    assert one_line(done, Status.USAGE).startswith(f"{records} line 4 is not JSON")


def test_a_json_line_that_is_no_object_is_refused(stopped: Settings, tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    records.write_bytes(b"[1, 2]\n")

    done = _landsync(stopped, "submit", str(records))

    assert "line 1 is a JSON list, not an object" in one_line(done, Status.USAGE)


def test_evaluate_given_a_file_that_is_no_truth_file_names_the_line(
    stopped: Settings, tmp_path: Path
) -> None:
    truth = records_file(tmp_path / "records.jsonl", make_record())  # records, not their truth

    done = _landsync(stopped, "evaluate", "--truth", str(truth))

    assert one_line(done, Status.USAGE).startswith(f"{truth} line 1 is no truth line (KeyError")


def test_a_wrong_option_value_is_one_line_with_where_to_look(stopped: Settings) -> None:
    done = _landsync(stopped, "report", "--format", "pdf")

    line = one_line(done, Status.USAGE)
    assert line.startswith("landsync report: Invalid value for")
    assert "--format" in line
    assert line.endswith("(see landsync report --help)")


def test_the_exit_statuses_are_documented_in_the_help(stopped: Settings) -> None:
    done = _landsync(stopped, "--help")

    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "Exit status: 0 done; 1 done in part" in text
    assert "4 PostgreSQL, Kafka or a service is not reachable" in text
    assert "--debug adds the traceback" in text


def test_a_stack_that_would_not_start_keeps_the_log_lines_that_say_why() -> None:
    error = explain(StackError("Kafka exited during startup; kafka.log ends with:\n[x] bind"), None)

    assert error.status == Status.UNREACHABLE
    assert str(error).endswith("kafka.log ends with:\n[x] bind")


def test_an_unexpected_error_is_an_internal_error_that_points_to_debug() -> None:
    error = explain(KeyError("commune_code"), None)

    assert error.status == Status.INTERNAL
    assert "KeyError" in str(error)
    assert "--debug" in str(error)


def test_a_service_logs_an_unknown_landsync_variable_at_start(stopped: Settings) -> None:
    env = {**child_env(stopped), "LANDSYNC_NATIONAL_DB_TOKN": "typo"}
    code = "from shared.process import prepare_process; prepare_process('sync', Settings())"
    started = subprocess.run(
        [sys.executable, "-c", f"from shared.settings import Settings; {code}"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert started.returncode == 0, started.stderr
    [line] = [orjson.loads(x) for x in started.stdout.splitlines() if "LANDSYNC_" in x]
    assert line["level"] == "warning"
    assert line["variable"] == "LANDSYNC_NATIONAL_DB_TOKN"
    assert line["did_you_mean"] == "LANDSYNC_NATIONAL_DB_TOKEN"
    assert "typo" not in started.stdout  # the name only, never the value
