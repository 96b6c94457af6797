"""Dead letters as JSON for the CLI and the API, personal data masked as in the logs."""

from __future__ import annotations

from typing import Any

import orjson

from shared.dlq.model import DeadLetter
from shared.logging import mask_ids, mask_personal_data


def masked(value: Any) -> Any:  # noqa: ANN401 - a JSON value
    """A JSON value with names, IDs and other personal fields masked, as in the logs."""
    return mask_personal_data(None, "dead letter", {"value": value})["value"]


def _text(text: str, reveal: bool) -> str:
    return text if reveal else mask_ids(text)


def _value(letter: DeadLetter, *, reveal: bool) -> Any:  # noqa: ANN401 - a JSON value
    try:
        decoded: Any = orjson.loads(letter.value)
    except orjson.JSONDecodeError:
        decoded = letter.value.decode("utf-8", "replace")  # a poison message
    return decoded if reveal else masked(decoded)


def view(letter: DeadLetter, *, reveal: bool = False, replayed: bool = False) -> dict[str, Any]:
    """A dead letter as JSON for the CLI and the API; personal data masked unless ``reveal``."""
    headers = {k: _text(v, reveal) for k, v in letter.headers.items()}
    return {
        "record_id": letter.record_id or None,
        "commune_code": letter.commune_code or None,
        "reason": letter.reason,
        "reasons": list(letter.reasons),
        "detail": headers.get("dlq.detail", ""),
        "replay_count": letter.replay_count,
        "dead_lettered_at": letter.dead_lettered_at.isoformat(),
        "replayed": replayed,
        "topic": letter.topic,
        "partition": letter.partition,
        "offset": letter.offset,
        "key": None if letter.key is None else _text(letter.key.decode("utf-8", "replace"), reveal),
        "headers": headers,
        "value": _value(letter, reveal=reveal),
    }
