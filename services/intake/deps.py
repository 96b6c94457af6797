"""What intake's routes depend on: the container the root fills, and the caller's key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.intake.errors import ApiError
from services.intake.keys import KeyVerifier
from services.intake.probe_guard import ProbeGuard
from services.intake.relay_process import RelayProcess
from services.intake.service import Sessions
from services.intake.validation import Validator
from shared.auth import ApiKey, Role
from shared.kafka.producer import Producer
from shared.settings import IntakeSettings


@dataclass(frozen=True)
class Deps:
    """What the routes need, built once by the composition root."""

    settings: IntakeSettings
    pool: asyncpg.Pool[Any]
    records: Sessions  # the ledger's records, in a session of their own per batch
    producer: Producer
    relay: RelayProcess
    keys: KeyVerifier
    validator: Validator
    probes: ProbeGuard
    metrics_dir: str | None = None  # set when several worker processes share /metrics


def deps(request: Request) -> Deps:
    """The app's dependencies."""
    found: Deps = request.app.state.deps
    return found


#: The OpenAPI's security scheme: ``/docs`` asks for the key once and sends it on every call.
bearer = HTTPBearer(
    auto_error=False,  # a missing key is answered 401 in the error envelope, as a wrong one is
    scheme_name="apiKey",
    description="An API key from `landsync keys create`, sent as `Authorization: Bearer <key>`.",
)


async def caller(
    d: Annotated[Deps, Depends(deps)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ApiKey:
    """The verified API key of the request, or 401."""
    key = await d.keys.verify(credentials.credentials if credentials else None)
    if key is None:
        raise ApiError(401, "unauthenticated", "a valid API key is required: Bearer <key>")
    return key


def require_role(key: ApiKey, role: Role, may_not: str) -> None:
    """403 unless the key has ``role``; the message says what the key's own role may not do."""
    if key.role != role:
        raise ApiError(403, "forbidden_role", f"the {key.role} role may not {may_not}")


async def require_submitter(key: ApiKey, d: Deps) -> None:
    """403 unless the key submits records; 429 while it is over the registry-probe limit."""
    require_role(key, "submitter", "submit records")
    await d.probes.check(key)


DepsDep = Annotated[Deps, Depends(deps)]
KeyDep = Annotated[ApiKey, Depends(caller)]
