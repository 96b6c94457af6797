"""A record's values by column slot to the record's JSON, with its ``submission_id``."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson

_USE = re.compile(r"^parcel\.land_uses\[(\d)\]\.(\w+)$")
_Content = Callable[[Sequence[Any], Sequence[Sequence[Any]]], dict[str, Any]]


class Shape:
    """Where each record slot goes in the record (worked out once per template).

    ``fields`` are the record's field paths by slot (``certificate.serial``,
    ``parcel.land_uses[0].code``); ``owner_keys`` the owner's keys by owner slot.
    """

    def __init__(self, version: str, fields: Sequence[str], owner_keys: Sequence[str]) -> None:
        self.content: _Content = _compile(version, fields, owner_keys)
        self.commune_slot = fields.index("commune_code")
        self.sheet_slot = fields.index("parcel.map_sheet")
        self.parcel_slot = fields.index("parcel.parcel_no")
        self.version = orjson.dumps(version)

    def record_json(self, values: Sequence[Any], owners: Sequence[Sequence[Any]]) -> bytes:
        """The record as JSON, ``template_version`` and ``submission_id`` included.

        The id is ``f01-{commune}-{sheet}-{parcel}-{digest}`` (docs/form01.md): the digest is of
        the content (the record without those two keys) as JSON with sorted keys, and the record
        is that same JSON with the two keys added at its end: the content is serialised once.
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


def _compile(version: str, fields: Sequence[str], owner_keys: Sequence[str]) -> _Content:
    """``content(values, owners)``: the record's dicts, None values left out.

    Written out as straight-line code for the template, the way ``dataclasses`` writes an
    ``__init__``: a loop over the slots with their routes cost three times as much a record,
    the largest share of an import's time after reading the cells.
    """
    lines = ["def owner(o):", "    d = {}"]
    lines += _sets("d", "o", enumerate(owner_keys))
    lines += ["    return d", "def content(v, owners):", "    record = {}"]
    inner: dict[str, list[tuple[int, str]]] = {}
    uses: dict[int, list[tuple[int, str]]] = {}
    top = []
    for slot, path in enumerate(fields):
        if match := _USE.match(path):
            uses.setdefault(int(match.group(1)), []).append((slot, match.group(2)))
        elif "." in path:
            parent, key = path.split(".", 1)
            inner.setdefault(parent, []).append((slot, key))
        else:
            top.append((slot, path))
    lines += _sets("record", "v", top)
    for n, (name, entries) in enumerate(inner.items()):
        lines += [f"    inner_{n} = {{}}", *_sets(f"inner_{n}", "v", entries)]
        lines += [f"    if inner_{n}:", f"        record[{name!r}] = inner_{n}"]
    # Kept at their own index, gaps as {}: an error's location names the right column group.
    count = max(uses, default=-1) + 1
    for n in range(count):
        lines += [f"    use_{n} = {{}}", *_sets(f"use_{n}", "v", uses.get(n, []))]
    lines += [
        f"    uses = [{', '.join(f'use_{n}' for n in range(count))}]",
        "    while uses and not uses[-1]:",
        "        uses.pop()",
        "    if uses:",
        "        record.setdefault('parcel', {})['land_uses'] = uses",
        "    record['owners'] = [owner(o) for o in owners]",
        "    return record",
    ]
    namespace: dict[str, Any] = {}
    # The source is made of the template's own field names (repr-quoted), never of cell data.
    code = compile("\n".join(lines), f"<form01 record shape {version}>", "exec")
    exec(code, namespace)  # noqa: S102
    content: _Content = namespace["content"]
    return content


def _sets(target: str, source: str, entries: Iterable[tuple[int, str]]) -> list[str]:
    return [
        line
        for slot, key in entries
        for line in (
            f"    if (x := {source}[{slot}]) is not None:",
            f"        {target}[{key!r}] = x",
        )
    ]
