"""The circuit breaker and the Retry-After gate, as a state machine on an injected clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import IntEnum


class State(IntEnum):
    """Breaker states; the values are what the ``landsync_sync_breaker_state`` gauge shows."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitBreaker:
    """Opens after consecutive failures, lets one probe through after a wait, closes on success.

    Contract: call :meth:`delay` before each request and wait that long if it is positive (then
    ask again); report every answered or failed request with :meth:`success`, :meth:`failure` or
    :meth:`rate_limited`. Never blocks and does no I/O, so it is tested with a fake clock.
    """

    def __init__(
        self,
        *,
        failures_to_open: int,
        reset_seconds: float,
        max_reset_seconds: float,
        probe_timeout: float,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[State], None] = lambda _state: None,
    ) -> None:
        self._threshold = failures_to_open
        self._base_reset = reset_seconds
        self._max_reset = max_reset_seconds
        self._probe_timeout = probe_timeout
        self._clock = clock
        self._on_change = on_change
        self.state = State.CLOSED
        self._failures = 0
        self._reset = reset_seconds
        self._open_until = 0.0
        self._probe_started: float | None = None
        self._hold_until = 0.0

    def delay(self) -> float:
        """Seconds to wait before sending; 0 means send now (as the probe, if half-open)."""
        now = self._clock()
        if now < self._hold_until:
            return self._hold_until - now
        if self.state is State.OPEN:
            if now < self._open_until:
                return self._open_until - now
            self._set(State.HALF_OPEN)
        if self.state is State.HALF_OPEN:
            if self._probe_started is not None and now - self._probe_started < self._probe_timeout:
                return min(self._base_reset, self._probe_timeout)  # the probe is out: wait for it
            self._probe_started = now
        return 0.0

    def success(self) -> None:
        """The national database answered (whatever it said about the plots)."""
        self._failures = 0
        self._reset = self._base_reset
        self._probe_started = None
        if self.state is not State.CLOSED:
            self._set(State.CLOSED)

    def failure(self) -> bool:
        """A request failed for lack of the national database; True if the plots are to blame.

        Failures while the breaker is open or probing, and the one that opens it, are the
        outage's: they do not count towards a plot's attempts.
        """
        now = self._clock()
        if self.state is State.HALF_OPEN:
            self._probe_started = None
            self._reset = min(self._reset * 2, self._max_reset)
            self._open(now)
            return False
        if self.state is State.OPEN:
            return False
        self._failures += 1
        if self._failures >= self._threshold:
            self._open(now)
            return False
        return True

    def rate_limited(self, retry_after: float) -> None:
        """A 429: nobody sends before ``retry_after`` seconds have passed."""
        self.success()
        self._hold_until = max(self._hold_until, self._clock() + retry_after)

    def _open(self, now: float) -> None:
        self._open_until = now + self._reset
        self._set(State.OPEN)

    def _set(self, state: State) -> None:
        self.state = state
        self._on_change(state)
