"""``landsync bench import``: Form 01 rows read into records, beside bare reads of the file."""

from __future__ import annotations

import gc
import multiprocessing
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from shared.form01.export import write_xlsx
from shared.form01.template import TEMPLATES

_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô")
_MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Thanh", "Hữu", "Ngọc", "Quang")
_GIVEN = (
    *("An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hoa", "Hùng", "Hương", "Khánh"),
    *("Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Phúc", "Phương", "Quân", "Sơn", "Tâm", "Thảo"),
    *("Thắng", "Trang", "Trung", "Tuấn", "Vân", "Yến"),
)
_BORN = date(1940, 1, 1)


def _name(i: int) -> str:
    # 2,400 names, as many as a commune's families repeat; not one name for every row.
    return (
        f"{_FAMILY[i % 10]} {_MIDDLE[i // 10 % 8]} {_GIVEN[i // 80 % 30]}"
    )  # fmt: skip


def _records(count: int) -> Iterator[dict[str, Any]]:
    """Couples: two owner rows per record, every column a real commune fills, names varied."""
    for i in range(count):
        village = f"Thôn {i % 40 + 1}, xã Tân Yên, tỉnh Bắc Ninh"
        yield {
            "commune_code": "07339",
            "certificate": {"serial": f"CK {i:06d}", "book_number": f"CS{i:05d}",
                            "issued_on": (date(2005, 1, 1) + timedelta(days=i % 5000)).isoformat()},
            "holder_type": "couple",
            "owners": [
                {"full_name": _name(i), "personal_id": f"0240850{i % 100000:05d}",
                 "date_of_birth": (_BORN + timedelta(days=i * 7 % 20000)).isoformat(),
                 "sex": "male", "role": "husband", "address": village},
                {"full_name": _name(i * 31 + 7), "personal_id": f"0241860{i % 100000:05d}",
                 "date_of_birth": (_BORN + timedelta(days=i * 11 % 20000)).isoformat(),
                 "sex": "female", "role": "wife", "address": village},
            ],
            "parcel": {"map_sheet": 1 + i % 90, "parcel_no": 1 + i, "address": village,
                       "area_m2": round(60 + i % 400 * 0.7, 1),
                       "land_uses": [{"code": "ONT", "area_m2": round(60 + i % 400 * 0.7, 1),
                                      "origin": "CNQ-KTT", "term": "Lâu dài"}]},
            "collection_status": "supplied",
            "scan_file": f"CK{i:06d}.pdf",
        }  # fmt: skip


def _calamine_grid(path: Path) -> int:
    """python-calamine: the whole sheet as a grid, then every row as a Python list."""
    from python_calamine import CalamineWorkbook  # noqa: PLC0415

    workbook = CalamineWorkbook.from_path(str(path))
    return sum(1 for _ in workbook.get_sheet_by_index(0).iter_rows())


def _calamine_stream(path: Path) -> int:
    """python-calamine-plus: every row as a Python list, streamed (the import's reader)."""
    from python_calamine_plus import CalamineWorkbook  # noqa: PLC0415

    workbook = CalamineWorkbook.from_path(str(path))
    return sum(1 for _ in workbook.stream_sheet_by_index(0))


def _form(path: Path) -> int:
    """The import's own work: bad-file checks, structure, rows → records with their ids."""
    from shared.form01.reader import read_form  # noqa: PLC0415

    return len(read_form(path).submitted)


def _form_validated(path: Path) -> int:
    """The same, then intake's validation of each record (what a JSON record costs too)."""
    from services.intake.validation import check  # noqa: PLC0415
    from shared.form01.reader import read_form  # noqa: PLC0415

    submitted = read_form(path).submitted
    return len(check([(i, g.record) for i, g in enumerate(submitted) if g.record is not None]))


MEASURES: dict[str, Callable[[Path], int]] = {
    "calamine_grid": _calamine_grid,
    "calamine_stream": _calamine_stream,
    "import": _form,
    "import_validated": _form_validated,
}


def _cpu_seconds() -> float:
    """User and system time of this process and of its children that have ended."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + ended.ru_utime + ended.ru_stime


def _in_child(name: str, path: Path, out: Any) -> None:  # noqa: ANN401 - a multiprocessing connection
    """One measure in a fresh process: its time, its CPU time, and its own peak RSS.

    The CPU time counts the processes it starts (the import's stream, on a large sheet): on
    two cores the time may be less than it.
    """
    import services.intake.validation  # noqa: F401, PLC0415 - imported before the idle figure
    import shared.form01.reader  # noqa: F401, PLC0415

    # The collector as every LandSync process sets it (shared.process), intake's validators too.
    gc.set_threshold(50_000, 20, 20)
    gc.freeze()
    idle = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu, started = _cpu_seconds(), time.perf_counter()
    count = MEASURES[name](path)
    elapsed, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.send(_Run(count, elapsed, cpu, idle / 1024, peak / 1024))


@dataclass(frozen=True)
class _Run:
    """One measure's run: records (or rows) read, seconds, CPU seconds, RSS figures in MB."""

    count: int
    seconds: float
    cpu_seconds: float
    idle_mb: float
    peak_mb: float  # its own: a process it starts reports the peak of its parent too


def _measure(name: str, path: Path) -> _Run:
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_in_child, args=(name, path, send))
    child.start()
    found: _Run = receive.recv()
    child.join()
    return found


def _write(path: Path, rows: int, shared_strings: bool) -> None:
    partial = path.with_suffix(".partial")
    write_xlsx(partial, TEMPLATES["PL3-49"], _records(rows // 2), shared_strings=shared_strings)
    partial.replace(path)


def workbook(rows: int, work: Path, *, shared_strings: bool = False) -> Path:
    """The bench's workbook of ``rows`` owner rows, written once per size and kind.

    Written by a process of its own: a shared-string table is built in memory, and a process
    spawned from a grown parent starts with the parent's peak as its own (``ru_maxrss`` survives
    the fork and the exec), which would be every measure's peak.
    """
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"form01-{rows}-v2{'-shared-strings' if shared_strings else ''}.xlsx"
    if not path.exists():
        writer = multiprocessing.get_context("spawn").Process(
            target=_write, args=(path, rows, shared_strings)
        )
        writer.start()
        writer.join()
        if writer.exitcode != 0:
            msg = f"writing the bench's workbook {path} failed (exit {writer.exitcode})"
            raise RuntimeError(msg)
    return path


#: Measured on the workbook saved as Excel saves it too (strings in a shared table).
SHARED_STRINGS_MEASURES = ("calamine_stream", "import")


def run(rows: int, work: Path, rounds: int = 3) -> dict[str, Any]:
    """Time every measure ``rounds`` times, alternating, each in its own process; best of each.

    Then the stream and the import again on the same rows saved with a shared-string table.
    """
    path = workbook(rows, work)
    shared = workbook(rows, work, shared_strings=True)
    best: dict[str, _Run] = {}
    peak: dict[str, float] = {}
    idle = 0.0
    runs = [(name, path, name) for name in MEASURES]
    runs += [(f"shared_strings_{name}", shared, name) for name in SHARED_STRINGS_MEASURES]
    for _ in range(rounds):
        for key, file, name in runs:
            run_ = _measure(name, file)
            if key not in best or run_.seconds < best[key].seconds:
                best[key] = run_
            peak[key] = max(peak.get(key, 0.0), run_.peak_mb)
            idle = max(idle, run_.idle_mb)
    seconds = {name: r.seconds for name, r in best.items()}
    ceiling = seconds["calamine_grid"]
    return {
        "rows": rows,
        "records": best["import"].count,
        "file_mb": round(path.stat().st_size / 1048576, 1),
        "shared_strings_file_mb": round(shared.stat().st_size / 1048576, 1),
        "rows_per_s": {name: round(rows / s) for name, s in seconds.items()},
        # The best run's CPU time, its processes' together: what the rate costs the machine.
        "cpu_seconds": {name: round(r.cpu_seconds, 3) for name, r in best.items()},
        "ratio_to_calamine_grid": {n: round(ceiling / seconds[n], 3) for n in MEASURES},
        "ratio_to_calamine_stream": {
            n: round(seconds["calamine_stream"] / seconds[n], 3) for n in MEASURES
        },
        "shared_strings_ratio_to_its_stream": round(
            seconds["shared_strings_calamine_stream"] / seconds["shared_strings_import"], 3
        ),
        "idle_process_rss_mb": round(idle, 1),
        "peak_rss_mb": {name: round(mb, 1) for name, mb in peak.items()},
    }
