"""What intake does with a batch of parsed records: authorise, de-duplicate, store, answer."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from services.intake import ledger
from services.intake.errors import ApiError
from services.intake.validation import Checked
from shared.auth import ApiKey
from shared.ids import new_ids
from shared.logging import debug_record, get_logger
from shared.transient import is_transient

Status = Literal["received", "duplicate_submission"]
log = get_logger(__name__)


class Records(Protocol):
    """Intake's port to the ledger: ``ledger.PgRecords`` on a connection, or a fake in tests."""

    async def store(
        self, records: list[ledger.NewRecord], *, key_id: str, traceparent: str | None = None
    ) -> tuple[set[uuid.UUID], dict[ledger.SubmissionKey, ledger.Existing]]:
        """Store new records, each with its outbox row, in one transaction.

        Returns the ids inserted and, for the others (submitted before), what the ledger holds.
        """


#: A session of the ledger: ``ledger.sessions(pool)`` acquires a connection, releases it on exit.
Sessions = Callable[[], AbstractAsyncContextManager[Records]]


@dataclass
class BatchAnswer:
    """The CONTRACT §2 response body: results and errors, each by index in the request."""

    results: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add_error(self, index: int, loc: list[str | int], msg: str, kind: str) -> None:
        """List a refused record."""
        self.errors.append({"index": index, "errors": [{"loc": loc, "msg": msg, "type": kind}]})

    def extend(self, other: BatchAnswer) -> None:
        """Merge the outcome of a later chunk of the same request."""
        self.results.extend(other.results)
        self.errors.extend(other.errors)

    def body(self) -> dict[str, Any]:
        """The response body, ordered by index."""
        return {
            "results": sorted(self.results, key=lambda r: r["index"]),
            "errors": sorted(self.errors, key=lambda e: e["index"]),
        }

    @property
    def received(self) -> int:
        """How many records are in the ledger because of (or before) this request."""
        return len(self.results)

    @property
    def only_forbidden(self) -> bool:
        """Every refusal was a commune outside the key's scope."""
        return bool(self.errors) and all(
            err["type"] == "forbidden_commune" for e in self.errors for err in e["errors"]
        )


_CONFLICT = "submission_id was already used for a record with different content"


async def store(
    sessions: Sessions, checked: Checked, key: ApiKey, traceparent: str | None = None
) -> BatchAnswer:
    """``receive`` in a session of the ledger, answering what the commit decided.

    After the commit the records are stored: an error releasing the connection (PostgreSQL
    killed at that moment) is logged and the answer stays 202. Before it, an error nothing else
    classified is a 503 with Retry-After (resubmitting is safe: ``submission_id`` is the key),
    never a bare 500. A commit whose acknowledgement was lost is such a 503: the records may be
    stored, and the retry then answers them ``duplicate_submission``.
    """
    outcome: BatchAnswer | None = None
    try:
        async with sessions() as records:
            outcome = await receive(records, checked, key, traceparent)
    except ApiError:
        raise
    except Exception as exc:
        if outcome is not None:
            log.warning(
                "connection lost after the commit; the batch is stored", error=type(exc).__name__
            )
            return outcome
        if is_transient(exc):
            raise  # answered 503 by the handler, as on every route
        log.exception("storing a batch failed before the commit", error=type(exc).__name__)
        raise ApiError(
            503,
            "unavailable",
            "the records could not be stored; nothing was answered 202, retry later",
            headers={"Retry-After": "5"},
        ) from exc
    return outcome


async def receive(
    records: Records, checked: Checked, key: ApiKey, traceparent: str | None = None
) -> BatchAnswer:
    """Store the valid records this key may submit; answer each one, and each error, by index."""
    outcome = BatchAnswer(errors=list(checked.errors))
    first: dict[ledger.SubmissionKey, ledger.NewRecord] = {}  # in request order
    repeats: list[tuple[int, ledger.NewRecord]] = []
    indexes: dict[uuid.UUID, int] = {}
    for i, record_id in enumerate(new_ids(len(checked))):
        index, commune_code = checked.indexes[i], checked.commune_codes[i]
        if not key.may_submit_for(commune_code):
            outcome.add_error(
                index,
                ["commune_code"],
                f"this API key may not submit records for commune {commune_code}",
                "forbidden_commune",
            )
            continue
        new = ledger.NewRecord(
            record_id=record_id,
            submission_id=checked.submission_ids[i],
            content_hash=checked.content_hashes[i],
            commune_code=commune_code,
            parcel_key=checked.parcel_keys[i],
            record_json=checked.records[i],
        )
        if new.submission_key in first:
            repeats.append((index, new))
        else:
            first[new.submission_key] = new
            indexes[new.record_id] = index
    if not first:
        return outcome
    kept = list(first.values())
    inserted, stored = await records.store(kept, key_id=key.key_id, traceparent=traceparent)
    for new in kept:
        if new.record_id in inserted:
            outcome.results.append(_result(indexes[new.record_id], new.record_id, "received"))
            debug_record(log, "record received", new.record_id, new.submission_id)
            stored[new.submission_key] = ledger.Existing(new.record_id, new.content_hash)
        else:
            repeats.append((indexes[new.record_id], new))
    # Later copies (in this request or before it) are the same record only if the content agrees.
    for index, new in repeats:
        old = stored[new.submission_key]
        if old.content_hash == new.content_hash:
            outcome.results.append(_result(index, old.record_id, "duplicate_submission"))
        else:
            outcome.add_error(index, ["submission_id"], _CONFLICT, "submission_conflict")
    return outcome


def _result(index: int, record_id: uuid.UUID, status: Status) -> dict[str, Any]:
    return {"index": index, "record_id": str(record_id), "status": status}
