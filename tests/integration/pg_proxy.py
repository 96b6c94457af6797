"""A TCP proxy in front of PostgreSQL that cuts one connection at a chosen moment of a COMMIT.

It reads PostgreSQL's wire protocol only as far as it needs: the startup message (to pick the
connections of one ``application_name``), the client's simple queries (to see ``COMMIT`` go out)
and the server's CommandComplete and ReadyForQuery messages (to see it acknowledged). Armed, it
cuts the first such COMMIT of a picked connection, then passes everything through again.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator, Callable
from enum import StrEnum
from typing import Self

_SSL_REQUEST = 80877103


class Moment(StrEnum):
    """Where in a COMMIT the connection is cut."""

    BEFORE_COMMIT = "before_commit"  # the client's COMMIT never reaches the server: rolled back
    COMMIT_UNACKED = "commit_unacked"  # committed, but the client never hears so
    AFTER_COMMIT = "after_commit"  # committed and acknowledged, then the connection dies


class CommitCutter:
    """The proxy: ``async with CommitCutter(port, application_name) as proxy``."""

    def __init__(self, upstream_port: int, application_name: str) -> None:
        self._upstream = upstream_port
        self.application_name = application_name.encode()
        self._armed: Moment | None = None
        self.cut = asyncio.Event()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def arm(self, moment: Moment) -> None:
        """Cut the next COMMIT of a picked connection at ``moment``."""
        self.cut.clear()
        self._armed = moment

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        server_in, server_out = await asyncio.open_connection("127.0.0.1", self._upstream)
        connection = _Connection(self, client_in, client_out, server_in, server_out)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await connection.run()
        finally:
            self._tasks.discard(task)
            for writer in (client_out, server_out):
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    def take(self, moment: Moment) -> bool:
        """Whether to cut here now (once per arming)."""
        if self._armed is moment:
            self._armed = None
            return True
        return False


class _Connection:
    def __init__(
        self,
        proxy: CommitCutter,
        client_in: asyncio.StreamReader,
        client_out: asyncio.StreamWriter,
        server_in: asyncio.StreamReader,
        server_out: asyncio.StreamWriter,
    ) -> None:
        self._proxy = proxy
        self._client_in, self._client_out = client_in, client_out
        self._server_in, self._server_out = server_in, server_out
        self._picked = False
        self._started = False  # past the untyped startup packets
        self._client_spoke = asyncio.Event()  # the server answers; it never speaks first
        self._ssl_answer = False  # the server's answer to an SSLRequest is one bare byte
        self._commit_sent = False
        self._commit_done = False

    async def run(self) -> None:
        up = asyncio.create_task(self._client_to_server())
        down = asyncio.create_task(self._server_to_client())
        _, pending = await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(up, down, return_exceptions=True)

    async def _client_to_server(self) -> None:
        async for message in _startup_then_messages(self._client_in, lambda: self._started):
            if not self._started and len(message) >= 8:
                code = struct.unpack("!I", message[4:8])[0]
                if code == _SSL_REQUEST:
                    self._ssl_answer = True
                else:  # the startup message: key\0value\0 pairs after the protocol version
                    fields = message[8:].split(b"\0")
                    pairs = dict(zip(fields[::2], fields[1::2], strict=False))
                    self._picked = pairs.get(b"application_name") == self._proxy.application_name
                    self._started = True
            elif self._picked and message[:1] == b"Q" and message[5:].upper().startswith(b"COMMIT"):
                if self._proxy.take(Moment.BEFORE_COMMIT):
                    self._proxy.cut.set()
                    return
                self._commit_sent = True
            self._server_out.write(message)
            await self._server_out.drain()
            self._client_spoke.set()

    async def _server_to_client(self) -> None:
        await self._client_spoke.wait()  # so an SSLRequest's one-byte answer is expected
        while True:
            if self._ssl_answer:
                self._ssl_answer = False
                message = await self._server_in.readexactly(1)
            else:
                message = await _message(self._server_in)
            kind = message[:1]
            if self._commit_sent and kind == b"C" and message[5:].startswith(b"COMMIT\0"):
                self._commit_sent = False
                if self._proxy.take(Moment.COMMIT_UNACKED):
                    self._proxy.cut.set()
                    return
                self._commit_done = self._proxy.take(Moment.AFTER_COMMIT)
            self._client_out.write(message)
            await self._client_out.drain()
            if self._commit_done and kind == b"Z":  # ReadyForQuery after the COMMIT
                self._proxy.cut.set()
                return


async def _message(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readexactly(5)
    length = struct.unpack("!I", head[1:])[0]
    return head + await reader.readexactly(length - 4)


async def _startup_then_messages(
    reader: asyncio.StreamReader, started: Callable[[], bool]
) -> AsyncIterator[bytes]:
    """The client's untyped startup packets (SSLRequest, StartupMessage), then typed messages."""
    while True:
        if not started():
            head = await reader.readexactly(4)
            length = struct.unpack("!I", head)[0]
            yield head + await reader.readexactly(length - 4)
        else:
            yield await _message(reader)
