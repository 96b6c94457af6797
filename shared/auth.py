"""API keys: generation, hashing and lookup; roles and commune scopes of CONTRACT §2."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg

from shared.db.connection import connected
from shared.db.pool import Conn

Role = Literal["submitter", "operator", "viewer"]
ROLES: tuple[Role, ...] = ("submitter", "operator", "viewer")
_PREFIX = "lsk"
# What create_key makes: 12 hex digits of id, 43 URL-safe characters of secret ('_' excluded).
# Anything else is refused before a lookup or a cache entry, so an odd header costs nothing.
_KEY_SHAPE = re.compile(r"lsk_([0-9a-f]{8,32})_([A-Za-z0-9-]{16,128})")


@dataclass(frozen=True)
class ApiKey:
    """Who is calling: the key's public id, its role and, for submitters, its communes."""

    key_id: str
    role: Role
    communes: frozenset[str]
    expires_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        """Whether the key's expiry (if it has one) has passed at ``now`` (timezone-aware)."""
        return self.expires_at is not None and self.expires_at <= now

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
    """``lsk_<key id>_<secret>`` into its two parts, or None if it is not shaped like a key.

    The shape is checked before anything else looks at the key: at most 165 characters of a
    fixed alphabet, so neither the database nor the key cache ever sees a megabyte of header.
    """
    if len(presented) > 165:  # the longest string _KEY_SHAPE matches
        return None
    match = _KEY_SHAPE.fullmatch(presented)
    return (match[1], match[2]) if match else None


def matches(secret: str, secret_hash: bytes) -> bool:
    """Constant-time check of a presented secret against the stored hash."""
    return hmac.compare_digest(hash_secret(secret), secret_hash)


async def create_key(
    conn: Conn,
    role: Role,
    communes: list[str],
    label: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[str, ApiKey]:
    """Store a new key (hashed) and return its plaintext, which is never shown again."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32).replace("_", "-")
    await conn.execute(
        "INSERT INTO api_keys (key_id, secret_hash, role, communes, label, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        key_id,
        hash_secret(secret),
        role,
        sorted(set(communes)),
        label,
        expires_at,
    )
    return f"{_PREFIX}_{key_id}_{secret}", ApiKey(key_id, role, frozenset(communes), expires_at)


async def find_key(conn: Conn | asyncpg.Pool[Any], key_id: str) -> tuple[ApiKey, bytes] | None:
    """The key with this id, unless revoked, and its secret hash, or None.

    An expired key is returned with its expiry: the caller compares it with the clock on every
    request, so a cached key stops working the moment it expires.
    """
    row = await conn.fetchrow(
        "SELECT role, communes, secret_hash, expires_at FROM api_keys"
        " WHERE key_id = $1 AND revoked_at IS NULL",
        key_id,
    )
    if row is None:
        return None
    key = ApiKey(key_id, row["role"], frozenset(row["communes"]), row["expires_at"])
    return key, bytes(row["secret_hash"])


@dataclass(frozen=True)
class KeyListing:
    """One key as ``landsync keys list`` shows it: everything but the secret's hash."""

    key_id: str
    role: Role
    communes: list[str]
    label: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


async def list_keys(conn: Conn) -> list[KeyListing]:
    """Every key, oldest first."""
    rows = await conn.fetch(
        "SELECT key_id, role, communes, label, created_at, expires_at, revoked_at"
        " FROM api_keys ORDER BY created_at, key_id"
    )
    return [KeyListing(**dict(r)) for r in rows]


async def revoke_key(conn: Conn, key_id: str) -> datetime | None:
    """Revoke a key; when it was (now, or earlier if already revoked); None if there is none."""
    revoked: datetime | None = await conn.fetchval(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = $1"
        " RETURNING revoked_at",
        key_id,
    )
    return revoked


async def create_key_at(
    dsn: str, role: Role, communes: list[str], label: str
) -> tuple[str, ApiKey]:
    """:func:`create_key` on a connection of its own: the local commands' one-off keys."""
    async with connected(dsn) as conn:
        return await create_key(conn, role, communes, label)
