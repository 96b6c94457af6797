"""Scoring the ledger against a truth file."""

from __future__ import annotations

from shared.evaluate import Actual, Expected, evaluate, score_cases


def test_outcome_accuracy_and_per_code_precision_and_recall() -> None:
    truth = {
        "a": Expected("accepted", frozenset()),
        "b": Expected("rejected", frozenset({"incomplete"})),
        "c": Expected("dead_lettered", frozenset({"owner_unresolved"})),
        "d": Expected("rejected", frozenset({"incomplete", "scan_name_mismatch"})),
    }
    ledger = {
        "a": Actual("synced", frozenset()),  # synced counts as accepted
        "b": Actual("rejected", frozenset({"incomplete"})),
        "c": Actual("rejected", frozenset({"incomplete"})),
        "d": Actual("rejected", frozenset({"incomplete"})),
    }

    result = evaluate(truth, ledger)

    assert result.accuracy == 3 / 4
    assert result.confusion[("dead_lettered", "rejected")] == 1
    assert result.codes["incomplete"].precision == 2 / 3
    assert result.codes["incomplete"].recall == 1.0
    assert result.codes["owner_unresolved"].recall == 0.0
    assert result.codes["scan_name_mismatch"].precision is None


def test_undecided_and_missing_records_are_counted_apart() -> None:
    truth = {"a": Expected("accepted", frozenset()), "b": Expected("accepted", frozenset())}

    result = evaluate(truth, {"a": Actual(None, frozenset())})

    assert (result.undecided, result.missing, result.accuracy) == (1, 1, None)


def test_sync_codes_added_after_the_decision_do_not_count_against_it() -> None:
    truth = {"a": Expected("accepted", frozenset())}

    result = evaluate(truth, {"a": Actual("dead_lettered", frozenset({"sync_rejected"}))})

    assert "sync_rejected" not in result.codes
    assert result.accuracy == 1.0  # reconcile accepted it; the national database refused it later


def test_cases_are_scored_by_the_parcel_the_ledger_filed_each_record_under() -> None:
    truth = {
        "a": Expected("rejected", frozenset({"incomplete"})),
        "a-fix": Expected("accepted", frozenset()),  # corrects "a" on the same parcel
        "b": Expected("rejected", frozenset({"scan_name_mismatch"})),
        "c": Expected("accepted", frozenset()),
        "typo": Expected("rejected", frozenset({"certificate_parcel_mismatch"})),
    }
    ledger = {
        "a": Actual("rejected", frozenset(), parcel_key="07339:1:1"),
        "a-fix": Actual("accepted", frozenset(), parcel_key="07339:1:1"),
        "b": Actual("rejected", frozenset(), parcel_key="07339:1:2"),
        "c": Actual("rejected", frozenset(), parcel_key="07339:1:3"),  # wrongly rejected
        "typo": Actual("rejected", frozenset(), parcel_key="07339:1:9"),
    }
    states = {
        "07339:1:1": "cleaned",
        "07339:1:2": "open",
        "07339:1:3": "open",
        "07339:1:9": "corrected",
    }
    score = score_cases(truth, ledger, states)
    assert (score.cases, score.expected_cleaned, score.cleaned, score.agree) == (3, 2, 1, 2)
    assert score.expected_clean_rate == 2 / 3
    assert score.clean_rate == 1 / 3
