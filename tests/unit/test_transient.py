"""The one definition of a transient error: outages are waited out, bugs are not hidden."""

from __future__ import annotations

import errno
import socket

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError

from shared.transient import is_transient


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(errno.ECONNREFUSED, "refused"),
        ConnectionResetError(errno.ECONNRESET, "reset"),
        TimeoutError(),
        socket.gaierror(socket.EAI_AGAIN, "temporary failure in name resolution"),
        OSError("Multiple exceptions: [Errno 111] Connect call failed ('::1', 5432)"),
        OSError(errno.EHOSTUNREACH, "no route to host"),
        KafkaConnectionError(),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.SerializationError("could not serialize access"),
        asyncpg.TooManyConnectionsError("too many clients"),
    ],
    ids=repr,
)
def test_an_outage_or_contention_is_transient(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        FileNotFoundError(errno.ENOENT, "no such file"),
        PermissionError(errno.EACCES, "permission denied"),
        OSError(errno.ENOSPC, "no space left on device"),
        ValueError("bad data"),
        KeyError("field"),
        asyncpg.UniqueViolationError("duplicate key"),
    ],
    ids=repr,
)
def test_a_bug_or_bad_data_is_not(error: BaseException) -> None:
    assert not is_transient(error)
