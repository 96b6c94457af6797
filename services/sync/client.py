"""The national database client: batchUpsert over httpx, with retries, the breaker and bisection.

Error classes, one outcome each: a 429 waits its ``Retry-After`` (every request waits, not only
the refused one) and is retried; 5xx, timeouts, connection errors and a refused token (401/403,
a configuration fault, not the plots') feed the circuit breaker and are retried; a 200 answers per
plot (``invalid`` is a permanent refusal); a 422 naming refused parcels refuses those and sends
the others again at once; any other 4xx refuses a single plot, and is bisected for a batch so that
one bad plot never takes its neighbours with it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

from services.sync import metrics
from services.sync.breaker import CircuitBreaker, State
from services.sync.policy import (
    Refused,
    SendResult,
    Synced,
    Unsent,
    backoff_delay,
    idempotency_key,
    parse_retry_after,
    plus_attempts,
    request_key,
)
from shared.kafka.consumer import ShuttingDownError
from shared.logging import get_logger

UPSERT_PATH = "/v1/parcels:batchUpsert"
_SYNCED = frozenset({"created", "updated", "unchanged"})
log = get_logger(__name__)


@dataclass(frozen=True)
class PlotItem:
    """One plot to send: its parcel, its version and its JSON as consumed."""

    parcel_key: str
    version: int
    plot: bytes

    @property
    def key(self) -> str:
        """The item's idempotency key."""
        return idempotency_key(self.parcel_key, self.version)


class TransientError(Exception):
    """The request may succeed later; ``charged`` says whether it counts against the plots."""

    def __init__(
        self, detail: str, *, cause: str, charged: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.cause = cause
        self.charged = charged
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Answer:
    status: int
    body: Any


@dataclass
class _Tally:
    attempts: int = 0
    failures: int = 0


def encode(items: Sequence[PlotItem]) -> bytes:
    """The batchUpsert body; each plot's consumed JSON is spliced in, not serialised again."""
    parts = [
        b'{"parcel_key":%b,"version":%d,"idempotency_key":%b,"plot":%b}'
        % (orjson.dumps(i.parcel_key), i.version, orjson.dumps(i.key), i.plot)
        for i in items
    ]
    return b'{"items":[' + b",".join(parts) + b"]}"


class NationalDbClient:
    """Sends plots; every method returns one outcome per plot, in order, and never raises them."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        breaker: CircuitBreaker,
        *,
        concurrency: int,
        backoff_initial: float,
        backoff_max: float,
        is_stopping: Callable[[], bool],
        max_retry_after: float = 300.0,
    ) -> None:
        self._http = http
        self._max_retry_after = max_retry_after
        self._breaker = breaker
        self._slots = asyncio.Semaphore(concurrency)
        self._initial = backoff_initial
        self._cap = backoff_max
        self._is_stopping = is_stopping

    async def send(
        self, items: Sequence[PlotItem], max_failures: int, *, bisect_failures: bool = False
    ) -> list[SendResult]:
        """Send ``items`` in one request, retried until ``max_failures`` charged failures.

        With ``bisect_failures``, a batch that keeps failing is split in halves and each half is
        sent again, down to single plots: a plot the national database always fails on is then
        charged alone, and its neighbours get through. Raises ``ShuttingDownError`` when the
        service stops while waiting.
        """
        tally = _Tally()
        try:
            answer = await self._post_with_retries(items, max_failures, tally)
        except TransientError as exc:
            if bisect_failures and len(items) > 1:
                return await self._halves(items, max_failures, tally.attempts, bisect_failures=True)
            return [Unsent(exc.detail, tally.attempts, tally.failures, exc.retry_after)] * len(
                items
            )
        if answer.status == 200:
            return [_from_result(r, tally.attempts) for r in answer.body["results"]]
        refused = _refused_keys(answer) & {i.key for i in items}
        if refused:
            rest = [i for i in items if i.key not in refused]
            later = iter(
                await self.send(rest, max(1, max_failures - tally.failures)) if rest else []
            )
            detail = f"HTTP {answer.status}: refused by the national database"
            return [
                Refused(detail, tally.attempts)
                if i.key in refused
                else plus_attempts(next(later), tally.attempts)
                for i in items
            ]
        if len(items) == 1:
            return [Refused(_describe(answer), tally.attempts)]
        return await self._halves(
            items, max_failures, tally.attempts, bisect_failures=bisect_failures
        )

    async def _halves(
        self, items: Sequence[PlotItem], max_failures: int, attempts: int, *, bisect_failures: bool
    ) -> list[SendResult]:
        half = len(items) // 2
        left, right = await asyncio.gather(
            self.send(items[:half], max_failures, bisect_failures=bisect_failures),
            self.send(items[half:], max_failures, bisect_failures=bisect_failures),
        )
        return [plus_attempts(o, attempts) for o in (*left, *right)]

    async def _post_with_retries(
        self, items: Sequence[PlotItem], max_failures: int, tally: _Tally
    ) -> _Answer:
        body = encode(items)
        headers = {
            "Idempotency-Key": request_key([i.key for i in items]),
            "Content-Type": "application/json",
        }

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            retry_after = exc.retry_after if isinstance(exc, TransientError) else None
            return backoff_delay(
                tally.failures, initial=self._initial, cap=self._cap, retry_after=retry_after
            )

        def count(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            metrics.RETRIES.labels(exc.cause if isinstance(exc, TransientError) else "error").inc()

        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(TransientError),
            stop=lambda _state: tally.failures >= max_failures,
            wait=wait,
            before_sleep=count,
            reraise=True,
        ):
            with attempt:
                try:
                    return await self._post_once(body, headers, len(items), tally)
                except TransientError as exc:
                    tally.failures += exc.charged
                    raise
        raise AssertionError("tenacity either returns or reraises")  # pragma: no cover

    async def _turn(self) -> None:
        # Sleeps, never spins: the breaker says how long; short slices only to notice a shutdown.
        while True:
            if self._is_stopping():
                raise ShuttingDownError
            delay = self._breaker.delay()
            if delay > 0:
                await asyncio.sleep(min(delay, 1.0))
            elif self._breaker.state is State.HALF_OPEN:
                await self._probe()
            else:
                return

    async def _probe(self) -> None:
        # The probe is an empty batch: it asks whether the national database is up, and no
        # plot's attempts are spent on it (nor can one plot it fails on keep the breaker open).
        try:
            response = await self._http.post(
                UPSERT_PATH, content=b'{"items":[]}', headers={"Content-Type": "application/json"}
            )
        except httpx.TransportError:
            self._breaker.failure()
            return
        if response.status_code >= 500 or response.status_code in (401, 403, 408, 429):
            self._breaker.failure()
        else:
            self._breaker.success()

    async def _post_once(
        self, body: bytes, headers: dict[str, str], expected: int, tally: _Tally
    ) -> _Answer:
        await self._turn()
        tally.attempts += 1
        started = time.perf_counter()
        try:
            async with self._slots:
                response = await self._http.post(UPSERT_PATH, content=body, headers=headers)
        except httpx.TransportError as exc:
            _observe("error", started)
            detail = f"{type(exc).__name__} talking to the national database"
            raise TransientError(detail, cause="error", charged=self._breaker.failure()) from exc
        status = response.status_code
        if status == 429:
            _observe("rate_limited", started)
            wait = self._retry_after(response.headers.get("retry-after"))
            self._breaker.rate_limited(wait if wait is not None else self._initial)
            raise TransientError("HTTP 429", cause="rate_limited", charged=True, retry_after=wait)
        if status >= 500 or status in (401, 403, 408):
            _observe("unavailable", started)
            charged = self._breaker.failure()
            raise TransientError(f"HTTP {status}", cause="unavailable", charged=charged)
        self._breaker.success()
        answer = _Answer(status, _json(response.content))
        if status == 200 and not _well_formed(answer.body, expected):
            _observe("error", started)
            raise TransientError("malformed 200 answer", cause="error", charged=True)
        _observe("ok" if status == 200 else "refused", started)
        return answer

    def _retry_after(self, header: str | None) -> float | None:
        """The wait a 429 asks for, at most ``max_retry_after``.

        A server asking for 1e308 seconds must not stop sync for ever.
        """
        wait = parse_retry_after(header, time.time())
        if wait is not None and not wait <= self._max_retry_after:
            metrics.RETRY_AFTER_CLAMPED.inc()
            log.warning("Retry-After clamped", asked_s=wait, cap_s=self._max_retry_after)
            return self._max_retry_after
        return wait


def _observe(outcome: str, started: float) -> None:
    metrics.REQUEST_SECONDS.labels(outcome).observe(time.perf_counter() - started)


def _json(content: bytes) -> Any:  # noqa: ANN401 - a JSON value
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def _well_formed(body: Any, expected: int) -> bool:  # noqa: ANN401 - a JSON value
    results = body.get("results") if isinstance(body, dict) else None
    return isinstance(results, list) and len(results) == expected


def _from_result(result: dict[str, Any], attempts: int) -> SendResult:
    if result.get("status") in _SYNCED and result.get("national_id"):
        return Synced(str(result["national_id"]), str(result["status"]), attempts)
    return Refused(f"invalid: {result.get('error') or 'refused'}"[:500], attempts)


def _refused_keys(answer: _Answer) -> set[str]:
    refused = answer.body.get("refused") if isinstance(answer.body, dict) else None
    if answer.status != 422 or not isinstance(refused, list):
        return set()
    return {
        r["idempotency_key"] for r in refused if isinstance(r, dict) and r.get("idempotency_key")
    }


def _describe(answer: _Answer) -> str:
    error = answer.body.get("error") if isinstance(answer.body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return f"HTTP {answer.status}: {code or 'refused by the national database'}"
