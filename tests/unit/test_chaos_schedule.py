"""The chaos schedule: reproducible by seed, every kind of fault, inside the run's window."""

from __future__ import annotations

from shared.chaos.schedule import ACTIONS, COMPONENTS, last_end, schedule


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another() -> None:
    assert schedule(7, 120, 10) == schedule(7, 120, 10)
    assert schedule(7, 120, 10) != schedule(8, 120, 10)


def test_by_default_every_component_meets_every_one_of_its_faults() -> None:
    faults = schedule(3, 300)
    wanted = {(c, a) for c in COMPONENTS for a in ACTIONS[c]}

    assert {(f.component, f.action) for f in faults} == wanted
    assert len(faults) == len(wanted)


def test_every_component_has_a_fault_before_any_has_a_second() -> None:
    faults = schedule(11, 120, 8)

    assert {f.component for f in faults[: len(COMPONENTS)]} == set(COMPONENTS)


def test_processes_are_killed_and_paused_and_the_simulator_also_meets_outages_and_errors() -> None:
    faults = schedule(5, 300)
    by_action = {a: {f.component for f in faults if f.action == a} for a in ACTIONS["national-db"]}

    assert by_action["sigkill"] == set(COMPONENTS)
    assert by_action["sigstop"] == set(COMPONENTS)
    assert by_action["outage"] == by_action["error_rate"] == {"national-db"}


def test_faults_start_in_order_inside_the_window_and_end_before_it_does() -> None:
    faults = schedule(2, 40, 6)
    starts = [f.at_seconds for f in faults]

    assert starts == sorted(starts)
    assert all(0 < s < 40 * 0.8 for s in starts)
    assert last_end(faults) <= 40


def test_a_kill_lasts_no_time_a_pause_some_and_an_error_rate_has_a_rate() -> None:
    faults = schedule(9, 300)

    assert all(f.duration == 0 for f in faults if f.action == "sigkill")
    assert all(f.duration >= 2 for f in faults if f.action in {"sigstop", "outage", "error_rate"})
    assert all(0 < f.rate < 1 for f in faults if f.action == "error_rate")
    assert all(f.rate == 0 for f in faults if f.action != "error_rate")


def test_no_faults_asked_or_no_time_gives_an_empty_schedule() -> None:
    assert schedule(1, 60, 0) == []
    assert schedule(1, 0) == []
    assert last_end([]) == 0
