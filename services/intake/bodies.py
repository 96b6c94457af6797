"""Reads request bodies within their size limits and splits them into records' JSON by index."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
from starlette.requests import Request

from services.intake.errors import ApiError
from services.intake.service import BatchAnswer
from services.intake.validation import Line

Parsed = tuple[list[Line], BatchAnswer]


def media_type(content_type: str | None) -> str:
    """A Content-Type header's media type, without its parameters; empty when there is none."""
    return (content_type or "").split(";")[0].strip().lower()


def require_content_type(request: Request, *accepted: str) -> None:
    """Refuse a body that does not declare one of the accepted media types."""
    declared = media_type(request.headers.get("content-type"))
    if declared not in accepted:
        raise ApiError(
            400,
            "unsupported_media_type",
            f"Content-Type must be {' or '.join(accepted)}, not {declared or 'missing'}",
        )


def _check_declared_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "body_too_large", f"the body is over the {limit}-byte limit")


async def _chunks(request: Request, limit: int, idle: float) -> AsyncIterator[bytes]:
    """The body's chunks, refused as soon as it passes ``limit`` bytes or stalls too long.

    A client that stops sending in the middle of its body would otherwise hold the request
    (and its connection) for ever.
    """
    _check_declared_length(request, limit)
    stream = aiter(request.stream())
    size = 0
    while True:
        try:
            async with asyncio.timeout(idle):
                chunk = await anext(stream)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise ApiError(
                408, "request_timeout", f"no part of the body arrived for {idle:g} s"
            ) from None
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "body_too_large", f"the body is over the {limit}-byte limit")
        yield chunk


async def read_body(
    request: Request, limit: int, *, idle: float, allow_empty: bool = False
) -> bytes:
    """The whole body, within ``limit`` bytes; an empty one is refused unless allowed."""
    body = b"".join([chunk async for chunk in _chunks(request, limit, idle)])
    if not allow_empty and not body.strip():
        raise ApiError(400, "empty_body", "the body is empty; send a record or an array")
    return body


class LineSplitter:
    """Splits a byte stream into its non-blank lines, numbered from 0, in linear time.

    Each byte is copied once into the line being built, however lines fall across chunks. A line
    over ``max_line`` bytes is refused into ``refused`` (a record is a few KB) and its bytes are
    dropped as they arrive, never buffered.
    """

    def __init__(self, max_line: int, refused: BatchAnswer) -> None:
        self._max_line = max_line
        self._refused = refused
        self._line = bytearray()
        self._skipping = False  # inside a line already over max_line
        self._index = 0

    def feed(self, chunk: bytes) -> Iterator[Line]:
        """The lines that ``chunk`` completes."""
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            if not self._skipping:
                self._line += chunk[start:end]
            yield from self._line_ended()
            start = end + 1
        if not self._skipping:
            self._line += chunk[start:]
            if len(self._line) > self._max_line:
                self._skipping = True
                self._line.clear()

    def end(self) -> Iterator[Line]:
        """The last line, when the stream does not end with a newline."""
        if self._skipping or self._line:
            yield from self._line_ended()

    def _line_ended(self) -> Iterator[Line]:
        line = self._line
        if self._skipping or len(line) > self._max_line:
            msg = f"the line is over the {self._max_line}-byte limit of one record"
            self._refused.add_error(self._index, [], msg, "record_too_large")
        elif line and not line.isspace():
            yield self._index, bytes(line)
        line.clear()
        self._skipping = False
        self._index += 1


async def ndjson_lines(
    request: Request, limit: int, max_line: int, refused: BatchAnswer, *, idle: float
) -> AsyncIterator[Line]:
    """Non-blank lines of a streamed NDJSON body (see :class:`LineSplitter`)."""
    lines = LineSplitter(max_line, refused)
    async for chunk in _chunks(request, limit, idle):
        for line in lines.feed(chunk):
            yield line
    for line in lines.end():
        yield line


def parse_json_batch(body: bytes, max_records: int) -> Parsed:
    """A JSON object or array: each record's JSON by index, and the errors of non-objects."""
    try:
        document: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    items = document if isinstance(document, list) else [document]
    if not isinstance(document, list | dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object or array of objects")
    if not items:
        raise ApiError(400, "empty_batch", "the array holds no records")
    if len(items) > max_records:
        raise ApiError(
            413, "too_many_records", f"{len(items)} records; at most {max_records} per request"
        )
    outcome = BatchAnswer()
    lines: list[Line] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            outcome.add_error(index, [], "a record must be a JSON object", "model_type")
            continue
        # Validated from JSON later (not from Python objects): that keeps the strict JSON rules.
        try:
            lines.append((index, orjson.dumps(item)))
        except orjson.JSONEncodeError:  # nested deeper than orjson writes (255 levels)
            outcome.add_error(index, [], "the record is nested too deeply", "json_invalid")
    return lines, outcome
