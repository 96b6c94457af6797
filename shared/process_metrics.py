"""Memory and CPU of a service's processes for its /metrics when it runs in multiprocess mode."""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

from prometheus_client import Counter, Gauge, multiprocess
from prometheus_client.process_collector import ProcessCollector

from shared.logging import get_logger

log = get_logger(__name__)
MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"
_INTERVAL_SECONDS = 5.0
_LIVE_FILE = re.compile(r"gauge_live\w*_(\d+)\.db")

# prometheus_client's ProcessCollector reads only the process that serves /metrics, and a custom
# collector is not shared between processes: so each process copies its own figures into metric
# files. No pid label (a new series for every restarted worker): the gauge sums the live
# processes, the counter every process since the service started. registry=None: the default
# registry already holds the ProcessCollector's metrics under these names.
RESIDENT_MEMORY = Gauge(
    "process_resident_memory_bytes",
    "Resident memory of the service's live processes (workers, relay, validators), summed.",
    registry=None,
    multiprocess_mode="livesum",
)
CPU_SECONDS = Counter(
    "process_cpu_seconds",
    "User and system CPU time of the service's processes since it started, summed.",
    registry=None,
)
_started = threading.Event()


def start() -> None:
    """Copy this process's memory and CPU into the metric files every few seconds (idempotent)."""
    directory = os.environ.get(MULTIPROC)
    if directory is None or _started.is_set():
        return
    _started.set()
    threading.Thread(
        target=_sample_forever, args=(Path(directory),), name="process-metrics", daemon=True
    ).start()


def _sample_forever(directory: Path) -> None:
    reader = ProcessCollector(registry=None)
    cpu = 0.0
    while True:
        try:
            cpu = sample(reader, cpu)
            forget_dead_processes(directory)
        except Exception as exc:  # noqa: BLE001 - never let a metrics thread take a service down
            log.warning("process metrics not sampled", error=repr(exc))
        time.sleep(_INTERVAL_SECONDS)


def sample(reader: ProcessCollector, counted: float) -> float:
    """Set the gauge and add the CPU used since ``counted``; returns the new CPU total."""
    values = {s.name: s.value for family in reader.collect() for s in family.samples}
    if "process_resident_memory_bytes" in values:
        RESIDENT_MEMORY.set(values["process_resident_memory_bytes"])
    total = values.get("process_cpu_seconds_total", counted)
    CPU_SECONDS.inc(max(0.0, total - counted))
    return total


def forget_dead_processes(directory: Path) -> None:
    """Drop the live gauges of processes that are gone (a restarted worker or relay)."""
    pids = {int(m.group(1)) for p in directory.iterdir() if (m := _LIVE_FILE.fullmatch(p.name))}
    for pid in pids:
        if not _alive(pid):
            multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
