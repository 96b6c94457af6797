"""The circuit breaker and the Retry-After gate, driven by a fake clock."""

from __future__ import annotations

from services.sync.breaker import CircuitBreaker, State


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _breaker(clock: Clock, changes: list[State] | None = None) -> CircuitBreaker:
    return CircuitBreaker(
        failures_to_open=3,
        reset_seconds=1.0,
        max_reset_seconds=8.0,
        probe_timeout=5.0,
        clock=clock,
        on_change=(changes if changes is not None else []).append,
    )


def _opened(clock: Clock, changes: list[State] | None = None) -> CircuitBreaker:
    """A breaker that three failures in a row have opened."""
    breaker = _breaker(clock, changes)
    for _ in range(3):
        breaker.failure()
    return breaker


def test_consecutive_failures_open_the_breaker_and_requests_wait() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    assert [breaker.failure() for _ in range(3)] == [True, True, False]
    assert breaker.state is State.OPEN
    assert breaker.delay() == 1.0


def test_a_success_between_failures_keeps_the_breaker_closed() -> None:
    breaker = _breaker(Clock())
    breaker.failure()
    breaker.failure()
    breaker.success()
    breaker.failure()
    assert breaker.state is State.CLOSED
    assert breaker.delay() == 0


def test_after_the_wait_one_probe_goes_while_the_others_keep_waiting() -> None:
    clock = Clock()
    breaker = _opened(clock)
    clock.now += 1.0
    assert breaker.delay() == 0  # the probe
    assert breaker.state is State.HALF_OPEN
    assert breaker.delay() > 0  # everyone else
    breaker.success()
    assert breaker.state.name == "CLOSED"  # mypy narrowed it to HALF_OPEN above
    assert breaker.delay() == 0


def test_a_failed_probe_reopens_for_twice_as_long_and_is_not_charged_to_the_plots() -> None:
    clock = Clock()
    changes: list[State] = []
    breaker = _opened(clock, changes)
    clock.now += 1.0
    breaker.delay()
    assert breaker.failure() is False
    assert breaker.state is State.OPEN
    assert breaker.delay() == 2.0
    assert changes == [State.OPEN, State.HALF_OPEN, State.OPEN]


def test_failures_while_open_are_the_outages_not_the_plots() -> None:
    breaker = _opened(Clock())
    assert breaker.failure() is False


def test_a_probe_that_never_answers_lets_another_probe_go_after_its_timeout() -> None:
    clock = Clock()
    breaker = _opened(clock)
    clock.now += 1.0
    assert breaker.delay() == 0
    clock.now += 5.0
    assert breaker.delay() == 0


def test_a_rate_limit_holds_every_request_until_retry_after_has_passed() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    breaker.rate_limited(2.0)
    assert breaker.delay() == 2.0
    clock.now += 1.5
    assert breaker.delay() == 0.5
    clock.now += 0.5
    assert breaker.delay() == 0
    assert breaker.state is State.CLOSED
