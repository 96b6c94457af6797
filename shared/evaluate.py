"""Accuracy of the decisions in the ledger against a truth file: outcomes and reason codes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

#: Codes the ledger adds after the decision (sync), which a truth file does not predict.
_LATER = frozenset({"sync_rejected", "sync_exhausted"})


@dataclass(frozen=True)
class Expected:
    """One line of truth.jsonl."""

    outcome: str
    reasons: frozenset[str]
    warnings: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Actual:
    """What the ledger says of the same record; ``None`` outcome means not decided yet."""

    outcome: str | None
    reasons: frozenset[str]
    warnings: frozenset[str] = frozenset()
    parcel_key: str | None = None


@dataclass(frozen=True)
class CaseScore:
    """Cases (CONTRACT §6) of the truth file's records, cleaned by the truth and by the ledger.

    Cases the ledger closed as corrected are left out of both.
    """

    cases: int
    expected_cleaned: int
    cleaned: int
    agree: int  # cases cleaned in both or in neither

    @property
    def expected_clean_rate(self) -> float | None:
        """Cases the truth has cleaned ÷ cases."""
        return self.expected_cleaned / self.cases if self.cases else None

    @property
    def clean_rate(self) -> float | None:
        """Cases the ledger has cleaned ÷ cases."""
        return self.cleaned / self.cases if self.cases else None


def score_cases(
    truth: Mapping[str, Expected], ledger: Mapping[str, Actual], states: Mapping[str, str]
) -> CaseScore:
    """Group the truth's records by the parcel the ledger filed them under, and compare."""
    expected: dict[str, bool] = {}
    for submission_id, due in truth.items():
        actual = ledger.get(submission_id)
        if actual is None or actual.parcel_key is None:
            continue
        key = actual.parcel_key
        expected[key] = expected.get(key, False) or due.outcome in _CLEAN
    kept = {k: v for k, v in expected.items() if states.get(k) != "corrected"}
    cleaned = {k for k in kept if states.get(k) == "cleaned"}
    return CaseScore(
        cases=len(kept),
        expected_cleaned=sum(kept.values()),
        cleaned=len(cleaned),
        agree=sum(v == (k in cleaned) for k, v in kept.items()),
    )


_CLEAN = frozenset({"accepted", "duplicate"})


@dataclass(frozen=True)
class CodeScore:
    """Precision and recall of one code."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float | None:
        """Of the records given the code, the share that should have it."""
        given = self.true_positives + self.false_positives
        return self.true_positives / given if given else None

    @property
    def recall(self) -> float | None:
        """Of the records that should have the code, the share given it."""
        due = self.true_positives + self.false_negatives
        return self.true_positives / due if due else None


@dataclass
class Evaluation:
    """The scores of one run."""

    total: int = 0
    undecided: int = 0
    missing: int = 0  # in the truth file, not in the ledger
    correct: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    codes: dict[str, CodeScore] = field(default_factory=dict)

    @property
    def accuracy(self) -> float | None:
        """Share of the decided records whose outcome matches the truth."""
        decided = self.total - self.undecided - self.missing
        return self.correct / decided if decided else None


def _decided_as(actual: Actual) -> str:
    """The reconcile outcome behind what the ledger says.

    Since migration 0011 the ledger keeps the decision apart from sync's progress; a reading of
    an older ledger may still say ``synced``, or ``dead_lettered`` for a plot sync gave up on.
    """
    if actual.outcome == "synced" or (
        actual.outcome == "dead_lettered" and actual.reasons <= _LATER
    ):
        return "accepted"
    return str(actual.outcome)


def evaluate(truth: Mapping[str, Expected], ledger: Mapping[str, Actual]) -> Evaluation:
    """Compare every record of the truth file with the ledger, by submission id."""
    result = Evaluation(total=len(truth))
    counts: dict[str, list[int]] = {}
    for submission_id, expected in truth.items():
        actual = ledger.get(submission_id)
        if actual is None:
            result.missing += 1
            continue
        if actual.outcome is None:
            result.undecided += 1
            continue
        outcome = _decided_as(actual)
        result.confusion[(expected.outcome, outcome)] += 1
        result.correct += expected.outcome == outcome
        _count_codes(
            counts,
            expected.reasons | expected.warnings,
            (actual.reasons | actual.warnings) - _LATER,
        )
    result.codes = {c: CodeScore(*n) for c, n in sorted(counts.items())}
    return result


def _count_codes(counts: dict[str, list[int]], due: Iterable[str], given: Iterable[str]) -> None:
    due_set, given_set = set(due), set(given)
    for code in due_set | given_set:
        tally = counts.setdefault(code, [0, 0, 0])
        if code in due_set and code in given_set:
            tally[0] += 1
        elif code in given_set:
            tally[1] += 1
        else:
            tally[2] += 1
