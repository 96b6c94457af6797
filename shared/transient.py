"""Which errors mean "a dependency is down or busy" (wait, retry) and not "this data is bad".

One definition for every service: the consumers wait such errors out and never dead-letter for
them, intake answers them 503 with ``Retry-After``, sync's retry worker says them once. It is
narrower than ``OSError``: a missing file or a permission refused is a bug to see, not an outage.
The wait between tries during such an outage is :func:`outage_wait`'s, for every retry loop.
"""

from __future__ import annotations

import errno
import socket

import asyncpg
from aiokafka.errors import KafkaError
from tenacity import wait_exponential_jitter

#: The error types that are always an outage or contention.
TRANSIENT_TYPES: tuple[type[Exception], ...] = (
    ConnectionError,  # refused, reset, aborted, a broken pipe
    TimeoutError,
    socket.gaierror,  # a host name that does not resolve (yet)
    KafkaError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.TooManyConnectionsError,
)
_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.ETIMEDOUT,
        errno.EPIPE,
    }
)


def is_transient(error: BaseException) -> bool:
    """Whether an error is an outage to wait out rather than a problem with the data."""
    if isinstance(error, TRANSIENT_TYPES):
        return True
    # A bare OSError is a network failure only by its errno. asyncio raises one without an errno
    # ("Multiple exceptions: ...") when every address of a host refused the connection.
    return type(error) is OSError and (error.errno is None or error.errno in _NETWORK_ERRNOS)


def outage_wait(longest: float) -> wait_exponential_jitter:
    """How long to wait between tries while a dependency is down: doubling, jittered, capped."""
    return wait_exponential_jitter(multiplier=0.2, max=longest)
