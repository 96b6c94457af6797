"""LandSync's AsyncAPI 3.0 document: every topic of CONTRACT §3, built from the code's models.

``docs/asyncapi.yaml`` is this document as text (``landsync asyncapi --out docs/asyncapi.yaml``
writes it; a test fails when it is out of date), and intake serves it at ``/asyncapi.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel

from shared.events import (
    DEAD_LETTER_HEADERS,
    DECISION_DEAD_LETTER_HEADERS,
    PARCEL_KEY,
    RECORD_HEADERS,
    REPLAYED_HEADERS,
    TRACE_HEADERS,
    RejectedRecord,
)
from shared.records import AcceptedPlot, SubmittedRecord
from shared.topics import Topic, Topics

_SCHEMAS = "#/components/schemas/{model}"


@dataclass(frozen=True)
class _Channel:
    topic: Topic
    what: str
    message: str  # a name in components.messages
    senders: tuple[str, ...]
    receivers: tuple[str, ...]


_CHANNELS = (
    _Channel(Topic.SUBMITTED, "Records received by intake, in the order of their parcel.",
             "SubmittedRecord", ("intake (outbox relay)", "operator replay"), ("reconcile",)),
    _Channel(Topic.ACCEPTED, "Reconciled plots ready for the national land database.",
             "AcceptedPlot", ("reconcile", "operator replay of sync-failed"), ("sync",)),
    _Channel(Topic.REJECTED, "Records the commune must correct; the value carries the reasons.",
             "RejectedRecord", ("reconcile",), ("the commune's systems",)),
    _Channel(Topic.DLQ_OWNER_UNRESOLVED,
             "Dead letters: owner not found, mismatched, absent or deceased, or not a holder.",
             "DecisionDeadLetter", ("reconcile",), ("operators (landsync dlq)",)),
    _Channel(Topic.DLQ_MORTGAGED,
             "Dead letters: an active mortgage, or a bank holds the certificate.",
             "DecisionDeadLetter", ("reconcile",), ("operators (landsync dlq)",)),
    _Channel(Topic.DLQ_SYNC_FAILED,
             "Dead letters: the national database refused the plot, or retries ran out.",
             "SyncDeadLetter", ("sync",), ("operators (landsync dlq)",)),
    _Channel(Topic.DLQ_POISON,
             "Messages a consumer could not decode or process; the original key and value.",
             "PoisonDeadLetter", ("reconcile", "sync"), ("operators (landsync dlq)",)),
)  # fmt: skip


def _headers(*groups: dict[str, str]) -> dict[str, Any]:
    merged = {name: text for group in groups for name, text in group.items()}
    properties = {name: {"type": "string", "description": text} for name, text in merged.items()}
    optional = set(REPLAYED_HEADERS) | set(TRACE_HEADERS)
    return {"type": "object", "properties": properties, "required": sorted(set(merged) - optional)}


def _parcel_key(description: str = "the parcel key") -> dict[str, Any]:
    return {"kafka": {"key": {"type": "string", "pattern": PARCEL_KEY, "description": description}}}


def _schemas(*models: type[BaseModel]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template=_SCHEMAS)
        found.update(schema.pop("$defs", {}))
        found[model.__name__] = schema
    return found


def _ref(model: str) -> dict[str, str]:
    return {"$ref": _SCHEMAS.format(model=model)}


def _messages() -> dict[str, Any]:
    record_headers = _headers(RECORD_HEADERS, REPLAYED_HEADERS, TRACE_HEADERS)
    dead = (DEAD_LETTER_HEADERS,)
    return {
        "SubmittedRecord": {
            "title": "A submitted record",
            "summary": "The Form 01 record as intake stored it (NFC text), plus its record_id.",
            "payload": _ref("SubmittedRecord"),
            "headers": record_headers,
            "bindings": _parcel_key(),
        },
        "AcceptedPlot": {
            "title": "An accepted plot",
            "summary": "The record, plus `version`: the parcel's accepted versions, counted.",
            "payload": _ref("AcceptedPlot"),
            "headers": record_headers,
            "bindings": _parcel_key(),
        },
        "RejectedRecord": {
            "title": "A rejected record",
            "summary": "The record, plus the decision's `reasons` and `warnings` (CONTRACT §4).",
            "payload": _ref("RejectedRecord"),
            "headers": record_headers,
            "bindings": _parcel_key(),
        },
        "DecisionDeadLetter": {
            "title": "A dead-lettered record",
            "summary": "The submitted record unchanged; the reasons travel in the headers.",
            "payload": _ref("SubmittedRecord"),
            "headers": _headers(*dead, DECISION_DEAD_LETTER_HEADERS, TRACE_HEADERS),
            "bindings": _parcel_key(),
        },
        "SyncDeadLetter": {
            "title": "A plot the national database did not take",
            "summary": "The accepted plot unchanged; `dlq.reason` is sync_rejected or"
            " sync_exhausted.",
            "payload": _ref("AcceptedPlot"),
            "headers": _headers(*dead),
            "bindings": _parcel_key(),
        },
        "PoisonDeadLetter": {
            "title": "A message no consumer could use",
            "summary": "The original value, byte for byte (it may not be JSON); `dlq.reason` is"
            " undecodable or unprocessable.",
            "contentType": "application/octet-stream",
            "payload": {"type": "string", "format": "binary"},
            "headers": _headers(*dead),
            "bindings": _parcel_key("the original message's key, unchanged"),
        },
    }


def _operations() -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for channel in _CHANNELS:
        name = _channel_name(channel.topic)
        for action, parties in (("send", channel.senders), ("receive", channel.receivers)):
            operations[f"{action}_{name}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{name}"},
                "summary": ", ".join(parties),
                "messages": [{"$ref": f"#/channels/{name}/messages/{channel.message}"}],
            }
    return operations


def _channel_name(topic: Topic) -> str:
    return topic.name.lower()


def document(topics: Topics | None = None) -> dict[str, Any]:
    """The AsyncAPI 3.0 document; topic addresses without the deployment's prefix."""
    topics = topics or Topics()
    channels = {
        _channel_name(c.topic): {
            "address": c.topic.value,
            "description": c.what,
            "messages": {c.message: {"$ref": f"#/components/messages/{c.message}"}},
            "bindings": {
                "kafka": {
                    "topic": c.topic.value,
                    "partitions": topics.dlq_partitions
                    if c.topic.is_dead_letter
                    else topics.partitions,
                }
            },
        }
        for c in _CHANNELS
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "LandSync",
            "version": "1.0",
            "description": "The Kafka topics of LandSync (CONTRACT §3). Every record of a parcel"
            " is keyed by its parcel key, so it stays on one partition, in order. Topic names"
            " take the deployment's prefix (`LANDSYNC_TOPIC_PREFIX`) before the addresses"
            " given here. Values are UTF-8 JSON unless said otherwise; headers are UTF-8 text.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "`landsync up`'s broker (its port is LANDSYNC_KAFKA_PORT)",
            }
        },
        "channels": channels,
        "operations": _operations(),
        "components": {
            "messages": _messages(),
            "schemas": _schemas(SubmittedRecord, AcceptedPlot, RejectedRecord),
        },
    }


def as_yaml(topics: Topics | None = None) -> str:
    """The document as ``docs/asyncapi.yaml`` holds it."""
    header = "# Generated by `landsync asyncapi --out docs/asyncapi.yaml`; do not edit by hand.\n"
    return header + yaml.safe_dump(document(topics), sort_keys=False, allow_unicode=True, width=100)
