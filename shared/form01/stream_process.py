"""A sheet's rows streamed by a process of its own, so reading and converting use two cores.

The stream (python-calamine-plus) holds the GIL for the whole of its XML parse, half of a large
import's time: no thread can run beside it. A child process streams the rows and sends them in
batches through a pipe; the importing process converts them meanwhile. The pipe's buffer
bounds what is in flight: the child waits while the importer is behind.

Run as ``python -m shared.form01.stream_process WORKBOOK``: it opens the workbook, reads the
sheet's name (marshalled) from its standard input, and writes frames to its standard output:
batches of rows, then an end, or the reader's failure (a password, or a damaged workbook) with
its message. It imports nothing of LandSync's.
"""

from __future__ import annotations

import contextlib
import fcntl
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
_PIPE_BYTES = 1 << 20
_HEAD = struct.Struct("<cII")  # a frame's kind, its size, the size of its cells set apart
_ROWS, _END, _FAILED = b"r", b"e", b"f"
_MARSHALLED = frozenset({str, float, int, bool, type(None)})


class ChildLost(Exception):  # noqa: N818 - what happened, not an error of the caller's
    """The child stopped before the sheet's end (killed, out of memory, a crash).

    ``delivered`` rows (whole frames) were yielded before it: the rest can be read again.
    """

    def __init__(self, delivered: int) -> None:
        super().__init__(f"the process reading the sheet stopped after {delivered:,} rows")
        self.delivered = delivered


class ChildStream:
    """A child process that opens the workbook at once and streams the sheet it is then told.

    Started before the sheet is chosen, so that its start and its opening of the workbook (a
    shared-string table is read whole) run while the importer opens the workbook too.
    """

    def __init__(self, path: Path) -> None:
        command = [sys.executable, "-m", __name__, str(path)]
        self._child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self._child.stdout is not None  # stdout=PIPE
        _widen(self._child.stdout.fileno())

    def rows(self, sheet: str) -> Generator[list[Any], None, None]:
        """The sheet's rows; the reader's own exceptions are raised here. Stops the child after.

        Closing the generator early (a structure error) stops the child too. A child that
        stops before the end raises :class:`ChildLost`, after every row of its whole frames.
        """
        child = self._child
        assert child.stdin is not None  # stdin=PIPE
        assert child.stdout is not None
        try:
            # A child that failed to open the workbook has gone: its failure is in its frame.
            with contextlib.suppress(BrokenPipeError):
                child.stdin.write(marshal.dumps(sheet))
                child.stdin.close()
            yield from _frames(child.stdout)
        finally:
            self.close()

    def close(self) -> None:
        """Stop the child (if it still runs) and let go of its pipes; again, nothing more."""
        if self._child.poll() is None:
            self._child.kill()
        with self._child:  # closes the pipes, waits for the child
            pass


def _widen(pipe: int) -> None:
    """The pipe's buffer from 64 KB to 1 MB (Linux's default most), a few frames.

    With one frame larger than the buffer, the child stops on every frame until the importer
    reads it, and the importer then waits while the child parses the next: they took turns.
    """
    with contextlib.suppress(OSError, AttributeError):  # another system, or a lower maximum
        fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)


def _frames(stream: IO[bytes]) -> Generator[list[Any], None, None]:
    delivered = 0
    while True:
        try:
            kind, payload = _frame(stream)
        except EOFError:  # the child has gone (its stderr says why)
            raise ChildLost(delivered) from None
        if kind == _ROWS:
            yield from payload
            delivered += len(payload)
        elif kind == _END:
            return
        else:
            name, message = payload
            raise (PasswordError if name == "password" else CalamineError)(message)


def _frame(stream: IO[bytes]) -> tuple[bytes, Any]:
    """One frame's kind and what it carries; raises EOFError when the pipe ends before it."""
    kind, size, extra = _HEAD.unpack(_exactly(stream, _HEAD.size))
    # Only this module's child writes to the pipe: what is loaded is values it built.
    payload = marshal.loads(_exactly(stream, size))  # noqa: S302
    if extra:
        for row, col, value in pickle.loads(_exactly(stream, extra)):  # noqa: S301
            payload[row][col] = value
    return kind, payload


def _exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return data


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
    """The child: open the workbook, read the sheet's name, stream its rows to standard output."""
    (path,) = argv
    out = sys.stdout.buffer
    try:
        try:
            workbook = CalamineWorkbook.from_path(path)
            told = sys.stdin.buffer.read()
            if not told:  # the importer let go of it (its pipes closed) without naming a sheet
                return 0
            sheet = marshal.loads(told)  # noqa: S302 - the importer's
            stream = workbook.stream_sheet_by_name(sheet)
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
        pass  # nothing more to send; the exit below flushes nothing
    return 0


if __name__ == "__main__":
    # Everything is written and flushed: no teardown of the workbook's strings while the
    # importer waits for the child's exit (a visible share of its waiting in a profile).
    os._exit(main(sys.argv[1:]))
