"""A sheet's rows streamed by a process of its own, so reading and converting use two cores.

The stream (python-calamine-plus) holds the GIL for the whole of its XML parse, half of a large
import's time: no thread can run beside it. A child process streams the rows and sends them in
batches through a pipe; the importing process converts them meanwhile, and its
GIL is free while it waits (intake's event loop runs then). The pipe's buffer bounds what is in
flight: the child waits while the importer is behind.

Run as ``python -m shared.form01.stream_process WORKBOOK SHEET``: it writes frames to its
standard output: batches of rows, then an end, or the reader's failure (a password,
or a damaged workbook) with its message. It imports nothing of LandSync's.
"""

from __future__ import annotations

import marshal
import os
import pickle
import struct
import subprocess
import sys
from collections.abc import Generator
from pathlib import Path
from typing import IO, Any

from python_calamine_plus import CalamineError, CalamineWorkbook, PasswordError

#: Rows a frame: big enough that a frame's own cost is little beside its cells'.
FRAME_ROWS = 512
_HEAD = struct.Struct("<cII")  # a frame's kind, its size, the size of its cells set apart
_ROWS, _END, _FAILED = b"r", b"e", b"f"
_MARSHALLED = frozenset({str, float, int, bool, type(None)})


def rows_from_child(path: Path, sheet: str) -> Generator[list[Any], None, None]:
    """The sheet's rows, read by a child process; the reader's own exceptions are raised here.

    Closing the generator early (a structure error) stops the child.
    """
    command = [sys.executable, "-m", __name__, str(path), sheet]
    with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE) as child:
        assert child.stdout is not None  # stdout=PIPE
        try:
            yield from _frames(child.stdout)
        finally:
            if child.poll() is None:
                child.kill()


def _frames(stream: IO[bytes]) -> Generator[list[Any], None, None]:
    while True:
        head = stream.read(_HEAD.size)
        if len(head) < _HEAD.size:
            msg = "the process reading the sheet stopped before its end (see its stderr)"
            raise RuntimeError(msg)
        kind, size, extra = _HEAD.unpack(head)
        # Only this module's child writes to the pipe: what is loaded is values it built.
        if kind == _ROWS:
            rows = marshal.loads(stream.read(size))  # noqa: S302
            if extra:
                for row, col, value in pickle.loads(stream.read(extra)):  # noqa: S301
                    rows[row][col] = value
            yield from rows
        elif kind == _END:
            return
        else:
            name, message = marshal.loads(stream.read(size))  # noqa: S302
            raise (PasswordError if name == "password" else CalamineError)(message)


def _send(out: IO[bytes], kind: bytes, frame: list[list[Any]] | tuple[str, str] | None) -> None:
    """One frame, by marshal; the cells it cannot hold pickled after it.

    marshal keeps no memo of every object written, as pickle does: less work for both sides.
    """
    try:
        data, extra = marshal.dumps(frame), b""
    except ValueError:  # dates and times: a batch's few such cells are sent apart
        assert isinstance(frame, list)
        extra = pickle.dumps(_set_apart(frame), protocol=5)
        data = marshal.dumps(frame)
    out.write(_HEAD.pack(kind, len(data), len(extra)))
    out.write(data)
    out.write(extra)


def _set_apart(rows: list[list[Any]]) -> list[tuple[int, int, Any]]:
    """The cells marshal cannot hold, each replaced by None in ``rows``: (row, column, value)."""
    apart = []
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value.__class__ not in _MARSHALLED:
                apart.append((r, c, value))
                row[c] = None
    return apart


def main(argv: list[str]) -> int:
    """The child: stream one sheet's rows to standard output."""
    path, sheet = argv
    out = sys.stdout.buffer
    try:
        try:
            stream = CalamineWorkbook.from_path(path).stream_sheet_by_name(sheet)
            batch: list[Any] = []
            for row in stream:
                batch.append(row)
                if len(batch) == FRAME_ROWS:
                    _send(out, _ROWS, batch)
                    batch = []
            if batch:
                _send(out, _ROWS, batch)
            _send(out, _END, None)
        except PasswordError as exc:
            _send(out, _FAILED, ("password", str(exc)))
        except CalamineError as exc:
            _send(out, _FAILED, ("calamine", str(exc)))
        out.flush()
    except BrokenPipeError:  # the importer stopped reading: a structure error, or it was closed
        # Nothing more can be written: the exit's own flush is sent nowhere, not warned about.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
