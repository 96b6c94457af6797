"""NDJSON bodies are split into lines in linear time, with a limit on one line."""

from __future__ import annotations

import time

from services.intake.bodies import LineSplitter
from services.intake.service import BatchAnswer


def _split(chunks: list[bytes], max_line: int = 100) -> tuple[list[tuple[int, bytes]], list[int]]:
    refused = BatchAnswer()
    splitter = LineSplitter(max_line, refused)
    lines = [line for chunk in chunks for line in splitter.feed(chunk)]
    lines.extend(splitter.end())
    return lines, [e["index"] for e in refused.errors]


def test_lines_split_across_chunks_come_out_whole_and_numbered_blank_lines_included() -> None:
    lines, refused = _split([b'{"a"', b':1}\n\n  \n{"b":2}', b"\n", b'{"c":3}'])

    assert lines == [(0, b'{"a":1}'), (3, b'{"b":2}'), (4, b'{"c":3}')]
    assert refused == []


def test_a_line_over_the_limit_is_refused_alone_and_the_next_line_still_counts() -> None:
    lines, refused = _split([b"short\n", b"x" * 60, b"x" * 60, b"x" * 60 + b"\nnext"], max_line=100)

    assert lines == [(0, b"short"), (2, b"next")]
    assert refused == [1]


def test_an_oversize_last_line_without_a_newline_is_refused() -> None:
    lines, refused = _split([b"ok\n", b"y" * 150], max_line=100)

    assert lines == [(0, b"ok")]
    assert refused == [1]


def test_one_huge_line_in_small_chunks_takes_linear_time() -> None:
    # Joining the pending bytes anew at every chunk is quadratic: 100 MB in 64 KB chunks took
    # 44 s. Here 64 MB in 16 KB chunks must be a fraction of a second's worth of work.
    chunk = b"z" * 16_384
    started = time.process_time()
    lines, refused = _split([chunk] * 4096, max_line=1 << 20)
    spent = time.process_time() - started

    assert (lines, refused) == ([], [0])
    assert spent < 5  # quadratic copying of 64 MB would be minutes
