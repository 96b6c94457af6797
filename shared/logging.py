"""structlog JSON logging, configured once per process, with personal data masked before output."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

import orjson
import structlog
from opentelemetry import trace
from structlog.typing import EventDict, WrappedLogger

#: Keys whose values are personal data wherever they appear in an event.
PERSONAL_KEYS = frozenset(
    {"full_name", "owner_name", "name", "personal_id", "legacy_id", "date_of_birth", "address"}
)
# 12-digit CCCD and 9-digit CMND numbers, not inside a longer run of digits. UUIDs (record ids)
# are matched first and kept: their last group can be twelve digits.
_ID_PATTERN = re.compile(
    r"(?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"|(?<!\d)(?P<id>\d{12}|\d{9})(?!\d)"
)
MASK = "***"
#: Keys whose values are trace context: hex, whose digit runs can look like an ID (one trace id in
#: fifteen holds a run of exactly 9 or 12 digits), and masking them would break the correlation.
TRACE_KEYS = frozenset({"trace_id", "span_id", "parent_id", "traceparent"})
# Only a value shaped as W3C trace context is kept whole under those keys: anything else is masked.
_TRACE_VALUE = re.compile(r"[0-9a-f]{16}|[0-9a-f]{32}|00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")


def _replace(match: re.Match[str]) -> str:
    found = match.group("id")
    return match.group(0) if found is None else f"<id:{len(found)}>"


def mask_ids(text: str) -> str:
    """Replace every 12- or 9-digit personal ID in free text by a mask."""
    return _ID_PATTERN.sub(_replace, text)


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_ids(value)
    if isinstance(value, Mapping):
        return {k: MASK if k in PERSONAL_KEYS else _mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return value


def mask_personal_data(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """Structlog processor: personal fields become ``***`` and ID-like digit runs are masked."""
    for key, value in list(event.items()):
        if key in TRACE_KEYS and isinstance(value, str) and _TRACE_VALUE.fullmatch(value):
            continue
        event[key] = MASK if key in PERSONAL_KEYS else _mask(value)
    return event


def _dumps(obj: Any, default: Any = None) -> str:
    return orjson.dumps(obj, default=default or str).decode()


_SUPPRESSED_HOOKS: list[Callable[[str], None]] = []


def on_suppressed(hook: Callable[[str], None]) -> None:
    """Call ``hook(library)`` for each line the rate limit leaves out (a metric counts them).

    A hook, not a metric here: this module is imported before intake may import
    prometheus_client (which picks its multiprocess mode when first imported).
    """
    _SUPPRESSED_HOOKS.append(hook)


class RateLimit(logging.Filter):
    """Lets one line per (logger, message template) through per ``window`` seconds.

    Only for the named libraries: their messages repeat per reconnect attempt, ours are
    per record or per batch and must all be written.
    """

    def __init__(self, prefixes: tuple[str, ...], window: float = 30.0) -> None:
        super().__init__()
        self._prefixes = prefixes
        self._window = window
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether to write the line."""
        if not record.name.startswith(self._prefixes):
            return True
        key = (record.name, str(record.msg))
        now = time.monotonic()
        last, left_out = self._seen.get(key, (float("-inf"), 0))
        if now - last < self._window:
            self._seen[key] = (last, left_out + 1)
            for hook in _SUPPRESSED_HOOKS:
                hook(record.name.split(".")[0])
            return False
        if left_out:
            record.suppressed = left_out  # written by structlog's ExtraAdder
        self._seen[key] = (now, 0)
        if len(self._seen) > 1_000:  # templates, not values: this stays small; a guard anyway
            with contextlib.suppress(KeyError):
                del self._seen[next(iter(self._seen))]
        return True


def add_trace_ids(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """Structlog processor: a line written inside a span carries its trace and span ids."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:  # never while tracing is off (shared/tracing.py)
        event["trace_id"] = format(span_context.trace_id, "032x")
        event["span_id"] = format(span_context.span_id, "016x")
    return event


def add_process(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """Structlog processor: the pid, since a service's processes share one log file."""
    event["pid"] = os.getpid()
    return event


def drop_colours(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """Structlog processor: uvicorn's ``color_message`` repeats the event with ANSI codes."""
    event.pop("color_message", None)
    return event


def configure_logging(service: str, level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send every log line of this process, ours and libraries', to stdout as masked JSON.

    Python warnings go the same way (``py.warnings``), as does an exception nothing caught.
    """
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        add_process,
        add_trace_ids,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        drop_colours,
        mask_personal_data,
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # drop disabled levels before any other work
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(formatter)
    # aiokafka writes a line per reconnect attempt: thousands in a 20 s broker outage.
    handler.addFilter(RateLimit(("aiokafka", "kafka")))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Library chatter at INFO (every request line, every rebalance step) drowns our own events.
    for noisy in ("aiokafka", "uvicorn.access", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    logging.captureWarnings(capture=True)
    sys.excepthook = _log_uncaught
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)


def _log_uncaught(kind: type[BaseException], error: BaseException, trace: Any) -> None:
    logging.getLogger("landsync").critical("uncaught exception", exc_info=(kind, error, trace))


def bound_record(record_id: object, submission_id: str | None = None) -> Any:
    """Context in which every log line carries this record's ids (a ``with`` block)."""
    return structlog.contextvars.bound_contextvars(
        record_id=str(record_id), submission_id=submission_id
    )


def debug_record(
    log: structlog.stdlib.BoundLogger,
    event: str,
    record_id: object,
    submission_id: str | None,
    **fields: Any,
) -> None:
    """A per-record DEBUG line carrying the record's ids; free when DEBUG is off (hot paths)."""
    if logging.getLogger().isEnabledFor(logging.DEBUG):  # the level is set on the root only
        with bound_record(record_id, submission_id):
            log.debug(event, **fields)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A logger for a module; configure_logging must have run in the composition root."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
