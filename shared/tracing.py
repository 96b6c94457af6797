"""OpenTelemetry tracing, off by default: a record's path through LandSync is one trace.

The W3C ``traceparent`` rides with the record: from the client's request (or a new trace) into
intake's span, onto the record's outbox row, into the Kafka headers of what it becomes
(submitted, accepted, rejected), and into sync's request to the national database (httpx is
instrumented). Consumers see batches that mix several traces, so they open one span per trace
of the batch (:class:`BatchSpans`) and send each message on under its own trace.

On with ``LANDSYNC_TRACING=true``; spans go to ``LANDSYNC_OTLP_ENDPOINT`` (OTLP over HTTP) and/or
to ``LANDSYNC_TRACE_DIR`` (JSON lines, one file per process). Log lines written inside a span
carry its ``trace_id`` (``shared.logging.add_trace_ids``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared.settings import CommonSettings

TRACEPARENT = "traceparent"
_PROPAGATOR = TraceContextTextMapPropagator()
_enabled = False


def configure_tracing(service: str, settings: CommonSettings) -> None:
    """Install this process's tracer provider when tracing is on (once per process)."""
    global _enabled  # noqa: PLW0603 - one provider per process, set at start
    if not settings.tracing or _enabled:
        return
    # Imported only when on: the SDK and its exporters cost start-up time otherwise.
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import (  # noqa: PLC0415
        BatchSpanProcessor,
        SimpleSpanProcessor,
    )

    provider = TracerProvider(resource=Resource.create({"service.name": f"landsync-{service}"}))
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint))
        )
    if settings.trace_dir is not None:
        from shared.trace_files import SpanFile  # noqa: PLC0415

        path = Path(settings.trace_dir) / f"{service}-{os.getpid()}.jsonl"
        provider.add_span_processor(SimpleSpanProcessor(SpanFile(path)))
    trace.set_tracer_provider(provider)
    atexit.register(provider.shutdown)
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor  # noqa: PLC0415

    HTTPXClientInstrumentor().instrument()
    _enabled = True


def tracer() -> trace.Tracer:
    """LandSync's tracer (the no-op one while tracing is off)."""
    return trace.get_tracer("landsync")


def parent_of(carrier: Mapping[str, str]) -> otel_context.Context:
    """The context a carrier's ``traceparent`` names (an empty one without it)."""
    return _PROPAGATOR.extract(carrier)


def traceparent_of(span: Span) -> str | None:
    """The ``traceparent`` that makes what is sent next a child of ``span``."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, trace.set_span_in_context(span))
    return carrier.get(TRACEPARENT)


@contextlib.contextmanager
def request_span(name: str, headers: Mapping[str, str], **attributes: Any) -> Iterator[str | None]:  # noqa: ANN401 - span attributes, of the types OpenTelemetry takes
    """A server span for one request, child of the client's ``traceparent`` if it sent one.

    Yields the traceparent to store with what the request stored (the client's while off).
    """
    if not _enabled:
        yield headers.get(TRACEPARENT)
        return
    with tracer().start_as_current_span(
        name, context=parent_of(headers), kind=trace.SpanKind.SERVER, attributes=attributes
    ) as span:
        yield traceparent_of(span)


class BatchSpans:
    """One span per trace among a batch's messages; ``headers_for`` sends a message on under it.

    Messages without a ``traceparent`` get no span. While tracing is off nothing is opened and
    a message's ``traceparent`` is passed on as it came.
    """

    def __init__(self, name: str, carriers: Sequence[Mapping[str, str]]) -> None:
        self._name = name
        self._carriers = carriers
        self._spans: dict[str, Span] = {}
        self._children: dict[str, str] = {}

    def __enter__(self) -> Self:
        if _enabled:
            counts: dict[str, int] = {}
            for carrier in self._carriers:
                parent = carrier.get(TRACEPARENT)
                if parent:
                    counts[parent] = counts.get(parent, 0) + 1
            for parent, count in counts.items():
                span = tracer().start_span(
                    self._name,
                    context=parent_of({TRACEPARENT: parent}),
                    kind=trace.SpanKind.CONSUMER,
                    attributes={"landsync.messages": count},
                )
                self._spans[parent] = span
                child = traceparent_of(span)
                if child:
                    self._children[parent] = child
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: TracebackType | None
    ) -> None:
        for span in self._spans.values():
            if error is not None:
                span.record_exception(error)
                span.set_status(trace.Status(trace.StatusCode.ERROR, type(error).__name__))
            span.end()

    def headers_for(self, carrier: Mapping[str, str]) -> dict[str, str]:
        """The ``traceparent`` header for what is sent on because of this message."""
        parent = carrier.get(TRACEPARENT)
        if not parent:
            return {}
        return {TRACEPARENT: self._children.get(parent, parent)}

    @contextlib.contextmanager
    def current(self) -> Iterator[None]:
        """Make the span current while the batch makes its requests, if it is one trace.

        A request shared by several traces belongs to none of them.
        """
        if len(self._spans) != 1:
            yield
            return
        [span] = self._spans.values()
        with trace.use_span(span, end_on_exit=False):
            yield


def with_trace(headers: Iterable[tuple[str, str]], traceparent: str | None) -> dict[str, str]:
    """Message headers plus the ``traceparent``, if there is one."""
    out = dict(headers)
    if traceparent:
        out[TRACEPARENT] = traceparent
    return out
