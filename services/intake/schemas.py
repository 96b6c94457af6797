"""The HTTP API's bodies as pydantic models: what ``/openapi.json`` documents for every status.

The routes render their answers with orjson for speed; these models describe those answers (the
fuzz test checks live responses against them), and parse the one JSON body a route takes whole.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

from shared.daily import Day
from shared.report import Row
from shared.states import DecisionState, Status, SyncState
from shared.topics import DLQ_QUEUES

#: The dead-letter queues by their short names (CONTRACT §5).
Queue = StrEnum("Queue", {name.replace("-", "_"): name for name in DLQ_QUEUES})  # type: ignore[misc]
MAX_REPLAY_LIMIT = 10_000


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+(Z|[+-][0-9:]+)?)?")


def _iso(pattern: re.Pattern[str], what: str) -> Any:
    def check(value: Any) -> Any:
        # pydantic would also take 0.0 or 1756684800 as a time since 1970: a query parameter
        # is written by people, and a number there is a mistake, not an epoch.
        if isinstance(value, str) and not pattern.fullmatch(value.strip()):
            raise ValueError(f"must be an ISO 8601 {what}, e.g. 2025-09-01")
        return value

    return BeforeValidator(check)


#: A query parameter's date or time: ISO 8601 text only.
IsoDate = Annotated[date, _iso(_ISO_DATE, "date")]
IsoDateTime = Annotated[datetime, _iso(_ISO_DATETIME, "date or time")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors: one envelope everywhere ------------------------------------------------------------


class ParameterError(_Body):
    """One query, path or body parameter that is not valid."""

    loc: list[str | int]
    msg: str


class ErrorDetail(_Body):
    """What went wrong, as a stable code and a sentence for people."""

    code: str = Field(examples=["unauthenticated"])
    message: str = Field(examples=["a valid API key is required: Bearer <key>"])
    column: str | None = Field(
        None, description="form_structure only: the workbook's column at fault", examples=["M"]
    )
    errors: list[ParameterError] | None = Field(
        None, description="invalid_request only: each parameter that is not valid"
    )


class ErrorBody(_Body):
    """The body of every error response but a batch whose every record was refused."""

    error: ErrorDetail


# -- records ------------------------------------------------------------------------------------


class FieldError(_Body):
    """One reason a record was refused: the field (``loc``), the message and a type code."""

    loc: list[str | int]
    msg: str
    type: str = Field(examples=["missing", "forbidden_commune", "control_character"])


class RecordResult(_Body):
    """A record in the ledger because of this request, or an earlier one with the same content."""

    index: int
    record_id: UUID
    status: Literal["received", "duplicate_submission"]


class RecordRefusal(_Body):
    """A record of the batch that was refused, by its index."""

    index: int
    errors: list[FieldError]


class BatchAnswer(_Body):
    """Each record of the batch, received or refused, by index (CONTRACT §2)."""

    results: list[RecordResult]
    errors: list[RecordRefusal]


class Finding(_Body):
    """A reason or a warning: a code and its detail."""

    model_config = ConfigDict(extra="allow")  # a poison record's reason may carry more

    code: str
    detail: str | None = None


class _Record(_Body):
    """What names a record: its id, its commune's submission id and its parcel."""

    record_id: UUID
    submission_id: str
    commune_code: str
    parcel_key: str


class RecordStatus(_Record):
    """``GET /v1/records/{record_id}``: where a record is (CONTRACT §2)."""

    status: Status
    decision: DecisionState
    reasons: list[Finding]
    warnings: list[Finding]
    received_at: datetime
    decided_at: datetime | None
    sync_state: SyncState | None
    sync_attempts: int
    national_id: str | None
    synced_at: datetime | None
    updated_at: datetime
    corrects_record_id: UUID | None


class ExplainedFinding(_Body):
    """A reason or warning with plain words in Vietnamese and English, and what to do."""

    code: str
    detail: str
    text_vi: str
    text_en: str
    action_vi: str
    action_en: str


class WorklistItem(_Record):
    """A decided record on the commune's worklist."""

    certificate_serial: str | None
    status: Status
    reasons: list[ExplainedFinding]
    warnings: list[ExplainedFinding]
    received_at: datetime
    decided_at: datetime
    corrects_record_id: UUID | None


class Worklist(_Body):
    """A page of the worklist; ``next_cursor`` is null after the last page."""

    items: list[WorklistItem]
    next_cursor: str | None


# -- imports ------------------------------------------------------------------------------------


class RowError(_Body):
    """A refused cell of the workbook: its row, column and the record field it fills."""

    row: int
    column: str | None
    field: str | None
    msg: str


class ImportAnswer(_Body):
    """``POST /v1/imports/form01``'s answer (CONTRACT §2)."""

    import_id: UUID
    template_version: str = Field(examples=["PL3-49"])
    rows: int
    records: int
    results: list[RecordResult]
    errors: list[RowError]


class ImportRow(_Body):
    """A row of an import and its record's current status."""

    row: int
    record_id: UUID | None
    submission_id: str | None
    import_status: str
    status: str
    reasons: list[Any]


class ImportStatus(_Body):
    """``GET /v1/imports/{import_id}``."""

    import_id: UUID
    file_name: str | None
    template_version: str
    rows: int
    records: int
    items: list[ImportRow]
    errors: list[RowError]


# -- reports ------------------------------------------------------------------------------------


def _fields_of(cls: type, **extra: Any) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: (hints[f.name], ...) for f in dataclasses.fields(cls)} | extra


_RATE = (float | None, Field(description="a share from 0 to 1; null when its divisor is 0"))
#: One row of the campaign report (CONTRACT §6), from ``shared.report.Row`` and its rates.
ReportRow = create_model(
    "ReportRow",
    __base__=_Body,
    __doc__="A commune's progress, or the province's (``commune_code`` null).",
    **_fields_of(
        Row,
        case_clean_rate=_RATE,
        case_sync_rate=_RATE,
        target_rate=_RATE,
        clean_rate=_RATE,
        sync_rate=_RATE,
    ),
)


class CampaignReport(_Body):
    """``GET /v1/reports/campaign``: every commune the key reads, then their total."""

    communes: list[ReportRow]
    province: ReportRow | None


DailyFigure = create_model(
    "DailyFigure",
    __base__=_Body,
    __doc__="One day of a commune (or of the province, ``commune_code`` null).",
    **_fields_of(Day),
)


class DailyFigures(_Body):
    """``GET /v1/reports/campaign/daily``: every day of the span, zeros included."""

    days: list[DailyFigure]


# -- dead letters ------------------------------------------------------------------------------


class DeadLetterView(_Body):
    """One dead letter; names and personal IDs masked unless revealed."""

    record_id: str | None
    commune_code: str | None
    reason: str
    reasons: list[str]
    detail: str
    replay_count: int
    dead_lettered_at: datetime
    replayed: bool
    topic: str
    partition: int
    offset: int
    key: str | None
    headers: dict[str, str]
    value: Any


class DeadLetters(_Body):
    """``GET /v1/dlq/{queue}``: the queue's matching dead letters, oldest first."""

    queue: Queue
    topic: str
    count: int
    dead_letters: list[DeadLetterView]


class RecordDeadLetters(DeadLetters):
    """``GET /v1/dlq/{queue}/{record_id}``: every dead letter of one record in the queue."""

    record_id: str


class DeadLetterQuery(BaseModel):
    """Which dead letters to list: the query parameters of ``GET /v1/dlq/{queue}``."""

    commune: str | None = None
    reason: str | None = None
    since: str | None = Field(None, description="ISO date or time, or an age: 2h, 7d")
    limit: int = Field(100, ge=1, le=MAX_REPLAY_LIMIT)
    reveal: bool = False
    include_replayed: bool = False


class ReplayRequest(_Body):
    """What to replay: at least one filter, or ``all``; ``dry_run`` only counts."""

    commune: str | None = Field(None, examples=["07339"])
    reason: str | None = Field(None, examples=["owner_unresolved"])
    since: str | None = Field(None, description="ISO date or time, or an age: 2h, 7d")
    record_id: str | None = None
    limit: Annotated[int | None, Field(ge=1, le=MAX_REPLAY_LIMIT)] = None
    all: bool = Field(default=False, description="replay the whole queue: said, never implied")
    dry_run: bool = False


class ReplayAnswer(_Body):
    """How many dead letters were (or, in a dry run, would be) replayed, refused and skipped."""

    queue: Queue
    dry_run: bool
    replayed: int
    refused: int = Field(description="past the maximum number of replays of a record")
    skipped: int = Field(description="replayed already")
    replay_id: int | None = Field(description="the audit row; null for a dry run")


# -- operations ---------------------------------------------------------------------------------


class Health(_Body):
    """The process answers."""

    status: Literal["ok"]


class Readiness(_Body):
    """Ready when every check passes: database, broker and the outbox relay."""

    ready: bool
    checks: dict[str, bool]


# -- responses per status, for the routes' ``responses=`` -------------------------------------

_ERRORS: dict[int, str] = {
    400: "The body is not JSON, is empty, or has a Content-Type the route does not take.",
    401: "No API key, or not a valid one (missing, wrong, revoked or expired).",
    403: "The key's role or communes do not allow this.",
    404: "Nothing with this id (or no such queue).",
    408: "The body did not arrive in time.",
    413: "The body is over the size limit.",
    422: "A parameter is not valid.",
    429: "Too many registry misses from this key; retry after the time given.",
    503: "The database or the broker is unavailable; retry later.",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented error responses: the envelope, with what each status means here."""
    return {s: {"model": ErrorBody, "description": _ERRORS[s]} for s in statuses}


def ok(model: Any, description: str, status: int = 200) -> dict[int | str, dict[str, Any]]:
    """The documented success response."""
    return {status: {"model": model, "description": description}}


def binary(media_type: str, description: str) -> dict[str, Any]:
    """A non-JSON success response."""
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}
