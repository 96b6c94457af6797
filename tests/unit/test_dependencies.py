"""An outage is said once each way; a library's repeated line is written once a window."""

from __future__ import annotations

import io
import json
import logging

import pytest
from prometheus_client import REGISTRY

from shared.dependencies import Dependency
from shared.logging import RateLimit, configure_logging


@pytest.fixture
def lines() -> io.StringIO:
    out = io.StringIO()
    configure_logging("unit-tests", "INFO", stream=out)
    return out


def _gauge() -> float | None:
    return REGISTRY.get_sample_value("landsync_dependency_up", {"dependency": "kafka-test"})


def _events(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_an_outage_is_one_line_down_one_line_up_and_the_gauge_between(lines: io.StringIO) -> None:
    kafka = Dependency("kafka-test")
    kafka.report(ok=True)
    for _ in range(50):
        kafka.report(ok=False, error=ConnectionRefusedError())
    gauge_during = _gauge()
    kafka.report(ok=True)
    kafka.report(ok=True)

    said = [(e["event"], e.get("error")) for e in _events(lines)]
    assert said == [("dependency down", "ConnectionRefusedError"), ("dependency up", None)]
    assert gauge_during == 0
    assert _gauge() == 1


def test_a_library_line_is_written_once_a_window_with_the_count_left_out() -> None:
    limit = RateLimit(("aiokafka",), window=3600)

    def record(name: str, msg: str) -> logging.LogRecord:
        return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, ("node 1",), None)

    first = [limit.filter(record("aiokafka.conn", "Unable connect to %s")) for _ in range(100)]
    other = limit.filter(record("aiokafka.conn", "Unable to update metadata from %s"))
    ours = [limit.filter(record("services.sync", "plot dead-lettered")) for _ in range(5)]

    assert first == [True] + [False] * 99
    assert other
    assert ours == [True] * 5, "our own lines are per record: every one is written"
    limit._window = 0  # the window has passed
    again = record("aiokafka.conn", "Unable connect to %s")
    assert limit.filter(again)
    assert again.suppressed == 99  # type: ignore[attr-defined]
