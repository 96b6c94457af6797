"""Multiprocess mode: each process's memory and CPU reach its service's /metrics, summed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.samples import Sample

from shared.process_metrics import forget_dead_processes
from shared.settings import PROJECT_ROOT

# A service process as in multiprocess mode: the variable is set before prometheus_client loads.
_ONE_SAMPLE = """
from prometheus_client.process_collector import ProcessCollector
from shared import process_metrics
process_metrics.sample(ProcessCollector(registry=None), 0.0)
"""


def _run_a_process(directory: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    subprocess.run(
        [sys.executable, "-c", _ONE_SAMPLE], env=env, cwd=PROJECT_ROOT, check=True, timeout=60
    )


def _samples(directory: Path) -> list[Sample]:
    """The process_* samples /metrics would show, read as MultiProcessCollector reads them."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    return [s for f in registry.collect() for s in f.samples if s.name.startswith("process_")]


def _read(directory: Path) -> dict[str, float]:
    return {s.name: s.value for s in _samples(directory)}


def test_two_processes_are_summed_without_a_pid_label(tmp_path: Path) -> None:
    _run_a_process(tmp_path)
    one = _read(tmp_path)
    _run_a_process(tmp_path)
    samples = _samples(tmp_path)
    assert {s.name for s in samples} == {
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
    }
    assert all(s.labels == {} for s in samples)  # one series per service, however many processes
    both = {s.name: s.value for s in samples}
    assert one["process_resident_memory_bytes"] > 10e6  # a Python interpreter's resident set
    assert both["process_resident_memory_bytes"] > 1.5 * one["process_resident_memory_bytes"]
    assert both["process_cpu_seconds_total"] > one["process_cpu_seconds_total"] > 0


def test_a_dead_process_memory_leaves_the_sum_and_its_cpu_time_stays(tmp_path: Path) -> None:
    _run_a_process(tmp_path)  # it has exited: a worker or relay that died
    forget_dead_processes(tmp_path)
    after = _read(tmp_path)
    assert "process_resident_memory_bytes" not in after
    assert after["process_cpu_seconds_total"] > 0
