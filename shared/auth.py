"""API keys: generation, hashing and lookup; roles and commune scopes of CONTRACT §2."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg

from shared.db.pool import Conn

Role = Literal["submitter", "operator", "viewer"]
ROLES: tuple[Role, ...] = ("submitter", "operator", "viewer")
_PREFIX = "lsk"


@dataclass(frozen=True)
class ApiKey:
    """Who is calling: the key's public id, its role and, for submitters, its communes."""

    key_id: str
    role: Role
    communes: frozenset[str]

    def may_submit_for(self, commune_code: str) -> bool:
        """Whether this key may POST records of ``commune_code``."""
        return self.role == "submitter" and commune_code in self.communes

    def may_read(self, commune_code: str) -> bool:
        """Operators and viewers read everything; submitters read their own communes."""
        return self.role != "submitter" or commune_code in self.communes

    @property
    def readable_communes(self) -> frozenset[str] | None:
        """The communes this key may read, or None for all of them."""
        return self.communes if self.role == "submitter" else None


def hash_secret(secret: str) -> bytes:
    """SHA-256 of the secret.

    The secret is 256 random bits, so a fast hash suffices: there is nothing to brute-force that a
    slow password hash would protect, and each request can be checked cheaply.
    """
    return hashlib.sha256(secret.encode()).digest()


def split_key(presented: str) -> tuple[str, str] | None:
    """``lsk_<key id>_<secret>`` into its two parts, or None if it is not shaped like a key."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != _PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def matches(secret: str, secret_hash: bytes) -> bool:
    """Constant-time check of a presented secret against the stored hash."""
    return hmac.compare_digest(hash_secret(secret), secret_hash)


async def create_key(
    conn: Conn,
    role: Role,
    communes: list[str],
    label: str | None = None,
) -> tuple[str, ApiKey]:
    """Store a new key (hashed) and return its plaintext, which is never shown again."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32).replace("_", "-")
    await conn.execute(
        "INSERT INTO api_keys (key_id, secret_hash, role, communes, label) VALUES ($1,$2,$3,$4,$5)",
        key_id,
        hash_secret(secret),
        role,
        sorted(set(communes)),
        label,
    )
    return f"{_PREFIX}_{key_id}_{secret}", ApiKey(key_id, role, frozenset(communes))


async def find_key(conn: Conn | asyncpg.Pool[Any], key_id: str) -> tuple[ApiKey, bytes] | None:
    """The active key with this id and its secret hash, or None."""
    row = await conn.fetchrow(
        "SELECT role, communes, secret_hash FROM api_keys WHERE key_id = $1 AND revoked_at IS NULL",
        key_id,
    )
    if row is None:
        return None
    return ApiKey(key_id, row["role"], frozenset(row["communes"])), bytes(row["secret_hash"])
