"""``landsync bench import``: Form 01 rows read into records, beside a bare read of the file."""

from __future__ import annotations

import multiprocessing
import resource
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook

from shared.form01.export import write_xlsx
from shared.form01.reader import read_form
from shared.form01.template import TEMPLATES


def _records(count: int) -> Iterator[dict[str, Any]]:
    """Couples: two owner rows per record, every column a real commune fills."""
    for i in range(count):
        yield {
            "commune_code": "07339",
            "certificate": {"serial": f"CK {i:06d}", "book_number": f"CS{i:05d}",
                            "issued_on": "2016-05-12"},
            "holder_type": "couple",
            "owners": [
                {"full_name": "Nguyễn Văn An", "personal_id": f"0240850{i % 100000:05d}",
                 "date_of_birth": "1985-03-02", "sex": "male", "role": "husband",
                 "address": "Thôn Đồng Lạc, xã Tân Yên, tỉnh Bắc Ninh"},
                {"full_name": "Trần Thị Bình", "personal_id": f"0241860{i % 100000:05d}",
                 "date_of_birth": "1986-07-09", "sex": "female", "role": "wife",
                 "address": "Thôn Đồng Lạc, xã Tân Yên, tỉnh Bắc Ninh"},
            ],
            "parcel": {"map_sheet": 1 + i % 90, "parcel_no": 1 + i, "address": "Thôn Đồng Lạc",
                       "area_m2": 96.1, "land_uses": [{"code": "ONT", "area_m2": 96.1,
                                                        "origin": "CNQ-KTT", "term": "Lâu dài"}]},
            "collection_status": "supplied",
            "scan_file": f"CK{i:06d}.pdf",
        }  # fmt: skip


def bare_read(path: Path) -> int:
    """Every row of the first sheet as a Python list: the ceiling."""
    workbook = CalamineWorkbook.from_path(str(path))
    return sum(1 for _ in workbook.get_sheet_by_index(0).iter_rows())


def _import_in_child(path: Path, out: Any) -> None:
    started = time.perf_counter()
    parsed = read_form(path)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.send((parsed.rows, len(parsed.records), elapsed, peak))


def run(rows: int, work: Path, rounds: int = 2) -> dict[str, Any]:
    """Write a workbook of ``rows`` owner rows, then time bare reads and imports, alternating."""
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"form01-{rows}.xlsx"
    if not path.exists():
        write_xlsx(path, TEMPLATES["PL3-49"], _records(rows // 2))
    bare: list[float] = []
    parsed: list[float] = []
    peak = 0.0
    records = 0
    context = multiprocessing.get_context("spawn")
    for _ in range(rounds):
        started = time.perf_counter()
        bare_read(path)
        bare.append(time.perf_counter() - started)
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=_import_in_child, args=(path, send))
        child.start()
        _, records, elapsed, child_peak = receive.recv()
        child.join()
        parsed.append(elapsed)
        peak = max(peak, child_peak)
    return {
        "rows": rows,
        "records": records,
        "file_mb": round(path.stat().st_size / 1048576, 1),
        "bare_rows_per_s": rows / min(bare),
        "import_rows_per_s": rows / min(parsed),
        "ratio": min(bare) / min(parsed),
        "import_peak_rss_mb": round(peak, 1),
    }
