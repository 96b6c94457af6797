"""The simulator's durable state: an append-only JSON-lines journal, fsynced before each answer.

One line per committed batch: the parcels it wrote, the idempotency keys it answered and the
counters after it. A line is written in one ``write`` and fsynced before the 200 leaves, so a
crash can only tear a line that was never acknowledged; :func:`replay` drops such a tail.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

from services.national_db.registry import Parcel, Plan, Registry, Result, Stats, pack


class Journal:
    """Appends committed plans to a file; ``None`` keeps the simulator in memory only."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._fd: int | None = None

    def open(self, registry: Registry) -> None:
        """Replay the file into ``registry``, then open it for appending."""
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        if self._path.exists():
            replay(self._path.read_bytes(), registry)
        self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def close(self) -> None:
        """Close the file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def append(self, plan: Plan, stats: Stats) -> None:
        """Write and fsync one line for ``plan``; ``stats`` are the counters once it is applied."""
        if self._fd is None:
            return
        line = orjson.dumps(
            {
                "parcels": [
                    [
                        p.parcel_key,
                        p.national_id,
                        p.version,
                        p.content_hash,
                        orjson.Fragment(p.plot_json),
                    ]
                    for p in plan.parcels.values()
                ],
                "keys": [[k, r.parcel_key, r.status, r.national_id] for k, r in plan.keys.items()],
                "stats": asdict(stats),
            }
        )
        os.write(self._fd, line + b"\n")
        os.fsync(self._fd)


def replay(data: bytes, registry: Registry) -> None:
    """Rebuild ``registry`` from journal bytes; a torn last line was never acknowledged."""
    for raw in data.splitlines():
        try:
            entry: dict[str, Any] = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        for key, national_id, version, digest, plot in entry["parcels"]:
            registry.parcels[key] = Parcel(key, national_id, version, digest, pack(plot)[1])
        for idem, parcel_key, status, national_id in entry["keys"]:
            registry.keys[idem] = Result(parcel_key, status, national_id)
        registry.stats = Stats(**entry["stats"])
