"""The messages on LandSync's topics (CONTRACT §3): their payloads, keys and headers.

The producers build these messages; the AsyncAPI document (``shared/asyncapi.py``) declares them
from here, and a test checks the headers the producers really set against these names.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.reasons import Reason, WarningCode
from shared.records import SubmittedRecord

PARCEL_KEY = r"^[0-9]{5}:[0-9]+:[0-9]+$"  # {commune_code}:{map_sheet}:{parcel_no}


class ReasonFinding(BaseModel):
    """A reason of CONTRACT §4: its code and what exactly is wrong."""

    model_config = ConfigDict(extra="forbid")

    code: Reason
    detail: str


class WarningFinding(BaseModel):
    """A warning of CONTRACT §4: noted, never blocking."""

    model_config = ConfigDict(extra="forbid")

    code: WarningCode
    detail: str


class RejectedRecord(SubmittedRecord):
    """A record as published on ``land.records.rejected``: back to its commune, with reasons."""

    reasons: list[ReasonFinding]
    warnings: list[WarningFinding] = Field(default_factory=list)


#: Headers on records and plots (UTF-8 text). The replay count rides along once replayed.
RECORD_HEADERS: dict[str, str] = {
    "record.id": "the record's id (a UUID), as intake answered it",
    "commune.code": "the record's commune (five digits)",
}
REPLAYED_HEADERS: dict[str, str] = {
    "dlq.replay.count": "how many times an operator replayed this record from a dead-letter queue",
}
#: While tracing is on (shared/tracing.py): the record's trace, W3C Trace Context.
TRACE_HEADERS: dict[str, str] = {
    "traceparent": "the record's trace (W3C Trace Context), while tracing is on",
}

#: Headers of a dead letter (UTF-8 text, numbers as decimal text), in the style of Kafka Connect.
DEAD_LETTER_HEADERS: dict[str, str] = {
    "dlq.reason": "the reason code (CONTRACT §4), the owner reason first when there are several",
    "dlq.detail": "what exactly is wrong, in words (personal data masked by the CLI and API)",
    "dlq.original.topic": "the topic the message was consumed from",
    "dlq.original.partition": "its partition there",
    "dlq.original.offset": "its offset there",
    "dlq.original.timestamp": "its timestamp there, epoch milliseconds",
    "dlq.consumer.group": "the consumer group that gave it up",
    "dlq.first.failed.at": "when it first failed, epoch milliseconds",
    "dlq.attempts": "how many times it was tried",
    "dlq.replay.count": "how many times it was replayed before (the replay limit counts these)",
    "record.id": "the record's id, when known",
    "commune.code": "the record's commune, when known",
}
#: Reconcile's dead letters also list every reason code (an addition to CONTRACT §3).
DECISION_DEAD_LETTER_HEADERS: dict[str, str] = {
    "dlq.reasons": "every reason code of the decision, comma-separated",
}
