"""How decided records move a case (CONTRACT §6), and the status derived from two states."""

from __future__ import annotations

from uuid import uuid4

from shared.cases import Case, CaseState, Corrected, Decided, advance
from shared.states import DecisionState, Status, SyncState, status_of

_KEY = "07339:1:1"


def _decided(
    decision: DecisionState, *codes: str, key: str = _KEY, corrects: Corrected | None = None
) -> Decided:
    return Decided(uuid4(), "07339", key, decision, codes, corrects)


def test_a_rejected_record_opens_its_case_with_the_reasons() -> None:
    moves = advance({}, [_decided(DecisionState.REJECTED, "incomplete", "scan_name_mismatch")])
    change = moves.changes[_KEY]
    assert change.state == CaseState.OPEN
    assert change.reasons == ("incomplete", "scan_name_mismatch")
    assert moves.corrections == {}


def test_a_later_record_of_an_open_case_corrects_it_and_cleans_it() -> None:
    rejected = uuid4()
    moves = advance({_KEY: Case(CaseState.OPEN, rejected)}, [_decided(DecisionState.ACCEPTED)])
    assert moves.changes[_KEY].state == CaseState.CLEANED
    assert moves.changes[_KEY].reasons == ()
    assert list(moves.corrections.values()) == [rejected]


def test_a_replay_of_the_same_record_is_no_correction() -> None:
    record = _decided(DecisionState.ACCEPTED)
    moves = advance({_KEY: Case(CaseState.OPEN, record.record_id)}, [record])
    assert moves.changes[_KEY].state == CaseState.CLEANED
    assert moves.corrections == {}


def test_a_cleaned_case_stays_cleaned_whatever_comes_later() -> None:
    moves = advance(
        {_KEY: Case(CaseState.CLEANED, uuid4())},
        [_decided(DecisionState.REJECTED, "duplicate_conflict")],
    )
    assert moves.changes[_KEY].state == CaseState.CLEANED
    assert moves.corrections == {}  # the case was not open: nothing to correct


def test_corrects_naming_a_record_of_another_parcel_closes_that_case() -> None:
    old = Corrected(uuid4(), "07339:9:9", DecisionState.REJECTED)
    moves = advance({}, [_decided(DecisionState.ACCEPTED, corrects=old)])
    [closing] = moves.closings
    assert closing.parcel_key == "07339:9:9"
    assert moves.changes[_KEY].state == CaseState.CLEANED
    assert set(moves.corrections.values()) == {old.record_id}


def test_corrects_naming_an_accepted_record_is_ignored() -> None:
    accepted = Corrected(uuid4(), "07339:9:9", DecisionState.ACCEPTED)
    moves = advance({}, [_decided(DecisionState.ACCEPTED, corrects=accepted)])
    assert moves.closings == []
    assert moves.corrections == {}


def test_records_of_one_parcel_in_one_batch_count_in_order() -> None:
    first = _decided(DecisionState.REJECTED, "incomplete")
    second = _decided(DecisionState.DEAD_LETTERED, "owner_unresolved")
    moves = advance({}, [first, second])
    assert moves.changes[_KEY].state == CaseState.OPEN
    assert moves.changes[_KEY].reasons == ("owner_unresolved",)
    assert moves.corrections == {second.record_id: first.record_id}


def test_the_status_is_derived_from_the_decision_and_sync_progress() -> None:
    assert status_of(DecisionState.ACCEPTED, None) == Status.ACCEPTED
    assert status_of(DecisionState.ACCEPTED, SyncState.PENDING) == Status.ACCEPTED
    assert status_of(DecisionState.ACCEPTED, SyncState.SYNCED) == Status.SYNCED
    assert status_of(DecisionState.ACCEPTED, SyncState.FAILED) == Status.DEAD_LETTERED
    assert status_of(DecisionState.REJECTED, None) == Status.REJECTED
