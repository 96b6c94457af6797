"""A record's values by column slot to the record's JSON, with its ``submission_id``."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
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
        content = orjson.dumps(self.content(values, owners))
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


#: A dict entry of the generated code: the condition under which it is set, and its value.
_Entry = tuple[str, str]


def _compile(version: str, fields: Sequence[str], owner_keys: Sequence[str]) -> _Content:
    """``content(values, owners)``: the record's dicts, None values left out, keys in order.

    Written out as straight-line code for the template, the way ``dataclasses`` writes an
    ``__init__``: a loop over the slots with their routes cost three times as much a record,
    the largest share of an import's time after reading the cells. Every dict is filled in
    sorted key order, so its JSON is the sorted JSON the digest is of, without orjson sorting.
    """
    top, inner, uses = _routes(fields)
    lines = ["def owner(o):", "    d = {}"]
    lines += [*_fill("d", {key: _value("o", slot) for slot, key in enumerate(owner_keys)})]
    lines += ["    return d", "def content(v, owners):"]
    # Kept at their own index, gaps as {}: an error's location names the right column group.
    count = max(uses, default=-1) + 1
    for n in range(count):
        lines += [f"    use_{n} = {{}}", *_fill(f"use_{n}", uses.get(n, {}))]
    if count:
        # Up to the last land use given: `if use_2: … elif use_1: …`, no list to trim.
        for n in reversed(range(count)):
            uses_up_to_n = ", ".join(f"use_{m}" for m in range(n + 1))
            lines += [f"    {'if' if n == count - 1 else 'elif'} use_{n}:",
                      f"        uses = [{uses_up_to_n}]"]  # fmt: skip
        lines += ["    else:", "        uses = None"]
        inner.setdefault("parcel", {})["land_uses"] = ("uses", "uses")
    for n, (name, entries) in enumerate(inner.items()):
        lines += [f"    inner_{n} = {{}}", *_fill(f"inner_{n}", entries)]
        top[name] = (f"inner_{n}", f"inner_{n}")  # set only when it holds something
    top["owners"] = ("", "[owner(o) for o in owners]")
    lines += ["    record = {}", *_fill("record", top), "    return record"]
    namespace: dict[str, Any] = {}
    # The source is made of the template's own field names (repr-quoted), never of cell data.
    code = compile("\n".join(lines), f"<form01 record shape {version}>", "exec")
    exec(code, namespace)  # noqa: S102
    content: _Content = namespace["content"]
    return content


def _routes(
    fields: Sequence[str],
) -> tuple[dict[str, _Entry], dict[str, dict[str, _Entry]], dict[int, dict[str, _Entry]]]:
    """The record's entries by dict: top-level, nested (``certificate``), land use by index."""
    top: dict[str, _Entry] = {}
    inner: dict[str, dict[str, _Entry]] = {}
    uses: dict[int, dict[str, _Entry]] = {}
    for slot, path in enumerate(fields):
        if match := _USE.match(path):
            uses.setdefault(int(match.group(1)), {})[match.group(2)] = _value("v", slot)
        elif "." in path:
            parent, key = path.split(".", 1)
            inner.setdefault(parent, {})[key] = _value("v", slot)
        else:
            top[path] = _value("v", slot)
    return top, inner, uses


def _value(source: str, slot: int) -> _Entry:
    return f"(x := {source}[{slot}]) is not None", "x"


def _fill(target: str, entries: dict[str, _Entry]) -> list[str]:
    """Lines setting ``target``'s entries, in sorted key order (no condition: always set)."""
    lines: list[str] = []
    for key in sorted(entries):
        condition, value = entries[key]
        if condition:
            lines += [f"    if {condition}:", f"        {target}[{key!r}] = {value}"]
        else:
            lines.append(f"    {target}[{key!r}] = {value}")
    return lines
