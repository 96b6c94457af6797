"""The supervisor's restart policy: doubling backoff, and a crash loop given up on."""

from __future__ import annotations

from shared.stack.supervisor import RestartPolicy, describe_exit

POLICY = RestartPolicy(max_restarts=4, window_seconds=100, backoff_initial_seconds=1,
                       backoff_max_seconds=5)  # fmt: skip


def test_each_restart_waits_twice_as_long_up_to_the_cap() -> None:
    delays = [POLICY.delay([10.0] * n, now=11.0) for n in range(4)]

    assert delays == [1, 2, 4, 5]


def test_too_many_restarts_within_the_window_is_a_crash_loop() -> None:
    assert POLICY.delay([10.0, 20.0, 30.0, 40.0], now=50.0) is None


def test_restarts_older_than_the_window_are_forgiven() -> None:
    # Four restarts, but three of them long ago: it ran quietly in between.
    assert POLICY.delay([1.0, 2.0, 3.0, 150.0], now=160.0) == 2


def test_an_exit_is_said_as_people_say_it() -> None:
    assert [describe_exit(c) for c in (-9, -15, 3, 0, None)] == [
        "SIGKILL", "SIGTERM", "exit 3", "exit 0", "unknown",
    ]  # fmt: skip
