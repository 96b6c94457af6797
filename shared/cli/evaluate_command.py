"""``landsync evaluate --truth truth.jsonl``: the ledger's decisions scored against a truth file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import orjson
import typer
from rich.console import Console
from rich.table import Table

from shared.cli.config import local_settings
from shared.cli.failures import CommandError, Status
from shared.cli.options import AsJson
from shared.cli.tables import wide_console
from shared.db.connection import connected
from shared.evaluate import Actual, CaseScore, Evaluation, Expected, evaluate, score_cases
from shared.settings import Settings

_CHUNK = 50_000


def read_truth(path: Path) -> dict[str, Expected]:
    """truth.jsonl by submission id; a line that is no truth line fails the command."""
    truth: dict[str, Expected] = {}
    with path.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
                truth[row["submission_id"]] = Expected(
                    row["outcome"],
                    frozenset(row.get("reasons", ())),
                    frozenset(row.get("warnings", ())),
                )
            except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
                raise CommandError(
                    f"{path} line {number} is no truth line ({type(exc).__name__}: {exc}):"
                    " give a truth.jsonl of `landsync generate`",
                    Status.USAGE,
                ) from exc
    return truth


async def _in_chunks(
    conn: asyncpg.Connection[Any], query: str, values: list[str]
) -> AsyncIterator[asyncpg.Record]:
    """The rows of ``query`` (``$1``: a text array) for ``values``, _CHUNK values a query."""
    for start in range(0, len(values), _CHUNK):
        for row in await conn.fetch(query, values[start : start + _CHUNK]):
            yield row


async def read_cases(settings: Settings, parcel_keys: list[str]) -> dict[str, str]:
    """The state of each case the ledger holds, by parcel key."""
    query = "SELECT parcel_key, state FROM cases WHERE parcel_key = ANY($1::text[])"
    async with connected(settings.dsn) as conn:
        return {r["parcel_key"]: r["state"] async for r in _in_chunks(conn, query, parcel_keys)}


async def read_ledger(settings: Settings, submission_ids: list[str]) -> dict[str, Actual]:
    """The ledger's decision for each submission id it holds."""
    query = (
        "SELECT submission_id, decision, reasons::text, warnings::text, parcel_key"
        " FROM records"
        " WHERE submission_id = ANY($1::text[])"
    )
    async with connected(settings.dsn) as conn:
        return {
            r["submission_id"]: Actual(
                None if r["decision"] == "received" else r["decision"],
                frozenset(x["code"] for x in orjson.loads(r["reasons"])),
                frozenset(x["code"] for x in orjson.loads(r["warnings"])),
                r["parcel_key"],
            )
            async for r in _in_chunks(conn, query, submission_ids)
        }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def render(result: Evaluation, cases: CaseScore, console: Console) -> None:
    """Accuracy, case figures, per-code precision and recall, and the confusion matrix."""
    console.print(
        f"[bold]Outcome accuracy[/] {_pct(result.accuracy)} over {result.total:,} records"
        f" ({result.undecided:,} not decided yet, {result.missing:,} not in the ledger)"
    )
    console.print(
        f"[bold]Cases[/] {cases.cases:,}: cleaned {cases.cleaned:,}"
        f" (truth {cases.expected_cleaned:,}),"
        f" case clean rate {_pct(cases.clean_rate)} (truth {_pct(cases.expected_clean_rate)}),"
        f" {cases.agree:,} cases agree"
    )
    codes = Table(title="Reason and warning codes", title_justify="left")
    for column in ("code", "expected", "given", "correct", "precision", "recall"):
        codes.add_column(column, justify="left" if column == "code" else "right")
    for code, score in result.codes.items():
        due = score.true_positives + score.false_negatives
        given = score.true_positives + score.false_positives
        codes.add_row(
            code, f"{due:,}", f"{given:,}", f"{score.true_positives:,}",
            _pct(score.precision), _pct(score.recall),
        )  # fmt: skip
    console.print(codes)
    outcomes = sorted({o for pair in result.confusion for o in pair})
    matrix = Table(title="Confusion matrix (rows: truth, columns: ledger)", title_justify="left")
    matrix.add_column("truth \\ ledger")
    for outcome in outcomes:
        matrix.add_column(outcome, justify="right")
    for expected in outcomes:
        matrix.add_row(expected, *(f"{result.confusion[(expected, o)]:,}" for o in outcomes))
    console.print(matrix)


def evaluate_command(
    truth: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="truth.jsonl")],
    as_json: AsJson = False,
) -> None:
    """Score the ledger's decisions against the truth file of `landsync generate`."""
    expected = read_truth(truth)
    actual = asyncio.run(read_ledger(local_settings(), list(expected)))
    result = evaluate(expected, actual)
    parcels = sorted({a.parcel_key for a in actual.values() if a.parcel_key})
    cases = score_cases(expected, actual, asyncio.run(read_cases(local_settings(), parcels)))
    if as_json:
        typer.echo(
            orjson.dumps(
                {
                    "accuracy": result.accuracy,
                    "total": result.total,
                    "undecided": result.undecided,
                    "missing": result.missing,
                    "codes": {
                        c: {"precision": s.precision, "recall": s.recall}
                        for c, s in result.codes.items()
                    },
                    "cases": {
                        "cases": cases.cases,
                        "cleaned": cases.cleaned,
                        "expected_cleaned": cases.expected_cleaned,
                        "agree": cases.agree,
                        "case_clean_rate": cases.clean_rate,
                        "expected_case_clean_rate": cases.expected_clean_rate,
                    },
                }
            ).decode()
        )
        return
    render(result, cases, wide_console(110))
