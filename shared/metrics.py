"""Series that exist at 0 from the start, so panels and alerts see them before the first event."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.metrics import MetricWrapperBase

M = TypeVar("M", bound=MetricWrapperBase)


def with_labels(metric: M, values: Iterable[str]) -> M:
    """Create ``metric``'s series for each known value of its one label; returns the metric.

    A labelled counter has no series until its first increment, so ``rate()`` shows no data
    rather than 0, and misses that first increment altogether.
    """
    for value in values:
        metric.labels(value)
    return metric


def registry(directory: str | None) -> CollectorRegistry:
    """This process's metrics, or, given the workers' shared directory, every worker's summed."""
    if directory is None:
        return REGISTRY
    summed = CollectorRegistry()
    multiprocess.MultiProcessCollector(summed, path=directory)  # type: ignore[no-untyped-call]
    return summed
