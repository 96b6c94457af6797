"""A record's values by column slot to the record's JSON, with its ``submission_id``."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import orjson

_USE = re.compile(r"^parcel\.land_uses\[(\d)\]\.(\w+)$")
_Pick = Callable[[Sequence[Any]], Sequence[Any]]


def _picker(slots: Sequence[int]) -> _Pick:
    """The values at ``slots``, always as a sequence (``itemgetter`` of one gives the value)."""
    if len(slots) == 1:
        only = slots[0]
        return lambda values: (values[only],)
    return itemgetter(*slots)


@dataclass(frozen=True)
class _Part:
    """The record slots that make one JSON object: its keys and how to pick their values."""

    keys: tuple[str, ...]
    pick: _Pick

    def build(self, values: Sequence[Any]) -> dict[str, Any]:
        # Measured: a comprehension beats dict(compress(zip(...), map(is_not, ...))) here.
        return {k: v for k, v in zip(self.keys, self.pick(values)) if v is not None}  # noqa: B905


def _part(entries: list[tuple[int, str]]) -> _Part:
    return _Part(tuple(key for _, key in entries), _picker([slot for slot, _ in entries]))


class Shape:
    """Where each record slot goes in the record (worked out once per template).

    ``fields`` are the record's field paths by slot (``certificate.serial``,
    ``parcel.land_uses[0].code``); ``owner_keys`` the owner's keys by owner slot.
    """

    def __init__(self, version: str, fields: Sequence[str], owner_keys: Sequence[str]) -> None:
        top: list[tuple[int, str]] = []
        inner: dict[str, list[tuple[int, str]]] = {}
        uses: dict[int, list[tuple[int, str]]] = {}
        for slot, path in enumerate(fields):
            if match := _USE.match(path):
                uses.setdefault(int(match.group(1)), []).append((slot, match.group(2)))
            elif "." in path:
                parent, key = path.split(".", 1)
                inner.setdefault(parent, []).append((slot, key))
            else:
                top.append((slot, path))
        self.top = _part(top)
        self.inner = tuple((name, _part(entries)) for name, entries in inner.items())
        # Kept at their own index, gaps as {}: an error's location names the right column group.
        self.uses = tuple(
            _part(uses[i]) if i in uses else None for i in range(max(uses, default=-1) + 1)
        )
        self.owner_keys = tuple(owner_keys)
        self.commune_slot = fields.index("commune_code")
        self.sheet_slot = fields.index("parcel.map_sheet")
        self.parcel_slot = fields.index("parcel.parcel_no")
        self.version = orjson.dumps(version)

    def content(self, values: Sequence[Any], owners: Sequence[Sequence[Any]]) -> dict[str, Any]:
        """The record without its id and template version: what the id is a digest of."""
        record = self.top.build(values)
        for name, part in self.inner:
            if found := part.build(values):
                record[name] = found
        uses = [{} if part is None else part.build(values) for part in self.uses]
        while uses and not uses[-1]:
            uses.pop()
        if uses:
            record.setdefault("parcel", {})["land_uses"] = uses
        keys = self.owner_keys
        record["owners"] = [
            {k: v for k, v in zip(keys, owner) if v is not None}  # noqa: B905 - one per slot
            for owner in owners
        ]
        return record

    def record_json(self, values: Sequence[Any], owners: Sequence[Sequence[Any]]) -> bytes:
        """The record as JSON, ``template_version`` and ``submission_id`` included.

        The id is ``f01-{commune}-{sheet}-{parcel}-{digest}`` (docs/form01.md): the digest is of
        the content as JSON with sorted keys, and the record is that same JSON with the two keys
        added at its end, so the content is serialised once.
        """
        content = orjson.dumps(self.content(values, owners), option=orjson.OPT_SORT_KEYS)
        digest = hashlib.sha256(content).hexdigest()[:12]
        commune, sheet = values[self.commune_slot], values[self.sheet_slot]
        submission_id = f"f01-{commune}-{sheet}-{values[self.parcel_slot]}-{digest}"
        return b"".join(
            (
                content[:-1],
                b',"template_version":',
                self.version,
                b',"submission_id":',
                orjson.dumps(submission_id),
                b"}",
            )
        )
