"""A consumer's batch mixes traces: one span per trace, and each message goes on under its own."""

from __future__ import annotations

import secrets

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared import tracing
from shared.tracing import TRACEPARENT, BatchSpans


def _traceparent() -> tuple[str, str, str]:
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


@pytest.fixture
def exporter(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    monkeypatch.setattr(tracing, "_enabled", True)
    monkeypatch.setattr(tracing, "tracer", lambda: provider.get_tracer("test"))
    return spans


def test_one_span_per_trace_of_the_batch_and_each_message_sent_on_under_its_own(
    exporter: InMemorySpanExporter,
) -> None:
    (a, a_trace, a_span), (b, b_trace, b_span) = _traceparent(), _traceparent()
    carriers = [{TRACEPARENT: a}, {TRACEPARENT: b}, {TRACEPARENT: a}, {}, {TRACEPARENT: a}]

    with BatchSpans("reconcile.decide", carriers) as spans:
        sent = [spans.headers_for(c) for c in carriers]

    finished = {format(s.context.trace_id, "032x"): s for s in exporter.get_finished_spans()}
    assert set(finished) == {a_trace, b_trace}
    assert format(finished[a_trace].parent.span_id, "016x") == a_span  # type: ignore[union-attr]
    assert format(finished[b_trace].parent.span_id, "016x") == b_span  # type: ignore[union-attr]
    assert finished[a_trace].attributes == {"landsync.messages": 3}
    child_of_a = f"00-{a_trace}-{format(finished[a_trace].context.span_id, '016x')}-01"
    assert sent == [
        {TRACEPARENT: child_of_a},
        {TRACEPARENT: f"00-{b_trace}-{format(finished[b_trace].context.span_id, '016x')}-01"},
        {TRACEPARENT: child_of_a},
        {},  # no trace came with it: none goes on
        {TRACEPARENT: child_of_a},
    ]


def test_while_tracing_is_off_the_traceparent_is_passed_on_as_it_came() -> None:
    a, _, _ = _traceparent()

    with BatchSpans("sync.send", [{TRACEPARENT: a}, {}]) as spans:
        assert spans.headers_for({TRACEPARENT: a}) == {TRACEPARENT: a}
        assert spans.headers_for({}) == {}
