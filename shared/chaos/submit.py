"""Submits records through intake as a patient client does: each failed request is sent again."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field

import httpx
import orjson

from shared.settings import Settings

# A batch stored before its answer was lost comes back as duplicate_submission, same ids.
_ACKNOWLEDGED = frozenset({"received", "duplicate_submission"})
_ANSWERED = frozenset({202, 403, 422})  # per-record answers (a 403/422 refused every record)


async def _post(
    client: httpx.AsyncClient, url: str, key: str, body: bytes, give_up: float
) -> list[dict[str, str]]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}
    while True:
        wait = 0.5
        try:
            response = await client.post(url, content=body, headers=headers)
            if response.status_code in _ANSWERED:
                results: list[dict[str, str]] = response.json().get("results", [])
                return results
            wait = min(5.0, float(response.headers.get("retry-after", "0.5") or 0.5))
        except httpx.HTTPError:
            pass  # refused, reset or timed out: the service is down or paused
        if time.monotonic() > give_up:
            raise TimeoutError("intake did not answer a batch within the run's limit")
        await asyncio.sleep(wait)


@dataclass
class Sent:
    """Record id → submission id of every record answered 202, and when the last answer came."""

    acknowledged: dict[str, str] = field(default_factory=dict)
    last_at: float | None = None  # time.monotonic()


async def submit_paced(
    settings: Settings, key: str, lines: list[bytes], seconds: float, give_up_s: float = 600.0
) -> Sent:
    """Send ``lines`` in chunks spread over ``seconds``; what intake answered 202."""
    submission_ids = [orjson.loads(line)["submission_id"] for line in lines]
    chunk = max(20, min(5_000, math.ceil(len(lines) / max(1.0, seconds * 2))))
    starts = list(range(0, len(lines), chunk))
    interval = seconds / max(1, len(starts))
    url = f"{settings.service_url('intake')}/v1/records:ndjson"
    sent = Sent()
    began = time.monotonic()
    async with httpx.AsyncClient(timeout=60) as client:
        for n, start in enumerate(starts):
            await asyncio.sleep(max(0.0, began + n * interval - time.monotonic()))
            body = b"\n".join(lines[start : start + chunk])
            give_up = time.monotonic() + give_up_s
            for r in await _post(client, url, key, body, give_up):
                if r["status"] in _ACKNOWLEDGED:
                    sent.acknowledged[r["record_id"]] = submission_ids[start + int(r["index"])]
                    sent.last_at = time.monotonic()
    return sent
