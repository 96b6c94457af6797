"""``landsync bench import``: the command measures both workbooks and reports every figure."""

from __future__ import annotations

import json
from pathlib import Path

from shared.settings import Settings
from tests.support import landsync


def test_bench_import_reports_both_workbooks_against_their_own_streamed_read(
    settings: Settings, tmp_path: Path
) -> None:
    done = landsync(settings, "bench", "import", "--rows", "600", "--work", str(tmp_path))

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["records"] == 300  # couples: two owner rows a record
    measures = {"calamine_grid", "calamine_stream", "import", "import_validated"}
    shared = {"shared_strings_calamine_stream", "shared_strings_import"}
    assert set(result["rows_per_s"]) == measures | shared
    assert all(rate > 0 for rate in result["rows_per_s"].values())
    assert set(result["cpu_seconds"]) == measures | shared
    assert all(cpu > 0 for cpu in result["cpu_seconds"].values())
    assert result["ratio_to_calamine_stream"]["calamine_stream"] == 1.0
    assert 0 < result["shared_strings_ratio_to_its_stream"] < 2
    # Written once each: the inline-string workbook and the one with a shared-string table.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "form01-600-v2-shared-strings.xlsx",
        "form01-600-v2.xlsx",
    ]
