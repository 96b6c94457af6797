"""The CLI against the running stack: refused records exit 1 and are written out; Kafka down."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from rich.console import Console

from shared.cli import demo
from shared.cli.failures import CommandError, Status
from shared.db.connection import connected
from shared.settings import Settings
from shared.stack.services import child_env
from tests.conftest import KeyFactory
from tests.support import free_port, landsync, make_record, one_line, records_file, run_cli, submit

COMMUNE = "07339"


def _negative_area(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "parcel": {**record["parcel"], "area_m2": -5}}


async def test_submit_exits_1_and_writes_the_refused_records_with_their_line_and_errors(
    settings: Settings, tmp_path: Path, new_key: KeyFactory
) -> None:
    good, bad, also_good = make_record(COMMUNE), make_record(COMMUNE), make_record(COMMUNE)
    records = records_file(tmp_path / "records.jsonl", good, _negative_area(bad), also_good)
    refused = tmp_path / "refused.jsonl"
    key = await new_key("submitter", [COMMUNE])

    done = landsync(
        settings, "submit", str(records), "--key", key, "--no-wait", "--errors", str(refused)
    )

    assert done.returncode == Status.REFUSED, done.stderr
    assert "Traceback" not in done.stderr
    assert "2 received" in done.stderr
    assert done.stderr.strip().splitlines()[-1] == f"1 records refused: written to {refused}"
    [entry] = [orjson.loads(line) for line in refused.read_bytes().splitlines()]
    assert entry["line"] == 2
    assert entry["submission_id"] == bad["submission_id"]
    assert entry["record"] == _negative_area(bad)
    assert any("area_m2" in map(str, e["loc"]) for e in entry["errors"])


async def test_submit_exits_0_when_every_record_is_received(
    settings: Settings, tmp_path: Path, new_key: KeyFactory
) -> None:
    records = records_file(tmp_path / "records.jsonl", make_record(COMMUNE))
    refused = tmp_path / "refused.jsonl"

    done = landsync(
        settings, "submit", str(records), "--key", await new_key("submitter", [COMMUNE]),
        "--no-wait", "--errors", str(refused),
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert refused.read_bytes() == b""


def test_submit_with_a_wrong_key_says_intake_refused_it_and_what_to_do(
    settings: Settings, tmp_path: Path
) -> None:
    records = records_file(tmp_path / "records.jsonl", make_record(COMMUNE))

    done = landsync(settings, "submit", str(records), "--key", "lsk_000000000000_wrong")

    line = one_line(done, Status.SERVICE)
    assert line.startswith("intake refused the records: 401")
    assert "--key or LANDSYNC_API_KEY" in line


def test_a_dead_letter_listing_with_kafka_unreachable_says_so_in_one_line(
    settings: Settings,
) -> None:
    port = free_port()
    env = {**child_env(settings), "LANDSYNC_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}"}

    done = run_cli({**env, "COLUMNS": "300"}, "dlq", "list", "poison", timeout=120)

    assert one_line(done, Status.UNREACHABLE).startswith(
        f"Kafka at 127.0.0.1:{port} is not reachable: check"
    )


async def test_the_demo_stops_before_its_report_when_intake_refuses_its_records(
    settings: Settings, intake: httpx.AsyncClient, new_key: KeyFactory
) -> None:
    key = await new_key("submitter", [COMMUNE])
    earlier = make_record(COMMUNE)
    await submit(intake, key, earlier)
    # Another generation's record under the same submission id: a conflict, refused.
    other = {**earlier, "scan_file": "XX000001.pdf"}
    shown = io.StringIO()
    async with connected(settings.dsn) as conn:
        with pytest.raises(CommandError) as refused:
            await demo.submission_pass(
                settings, Console(file=shown), conn, key, [orjson.dumps(other)]
            )

    assert refused.value.status == Status.REFUSED
    assert "1 submission conflict" in str(refused.value)
    assert "Campaign progress" not in shown.getvalue()


async def test_the_demo_refuses_a_ledger_holding_another_generations_records_of_its_commune(
    settings: Settings, intake: httpx.AsyncClient, new_key: KeyFactory
) -> None:
    commune = "08422"  # no other test's records
    earlier = make_record(commune, submission_id="xa-08422-2025-aaaaaa-000001")
    await submit(intake, await new_key("submitter", [commune]), earlier)
    ours = make_record(commune, submission_id="xa-08422-2025-bbbbbb-000001")

    with pytest.raises(CommandError) as refused:
        await demo.refuse_other_generations(settings, [orjson.dumps(ours)])
    # The same generation again is no other generation: its records come back as duplicates.
    await demo.refuse_other_generations(settings, [orjson.dumps(earlier)])

    assert refused.value.status == Status.REFUSED
    assert "already holds 1 records of commune 08422" in str(refused.value)
    assert "fresh LANDSYNC_STATE_DIR" in str(refused.value)
