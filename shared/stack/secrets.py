"""The local stack's generated passwords, kept in ``<state_dir>/secrets`` (0700, files 0600).

Each PostgreSQL role has its own file in libpq's pgpass format (``*:*:*:role:password``), so a
connection string names the file (``?passfile=…``) and never holds the password itself.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

_PRIVATE_FILE = 0o600
_PRIVATE_DIR = 0o700


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if missing and make it readable by its owner only."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(_PRIVATE_DIR)
    return path


def read_password(passfile: Path) -> str | None:
    """The password a pgpass file of ours holds, or None when there is none."""
    try:
        line = passfile.read_text("utf-8").strip()
    except FileNotFoundError:
        return None
    password = line.rsplit(":", 1)[-1] if line.count(":") >= 4 else ""
    return password or None


def ensure_password(passfile: Path, role: str) -> str:
    """The role's password: the one in ``passfile``, or a new random one written there (0600)."""
    private_dir(passfile.parent)
    found = read_password(passfile)
    if found is not None:
        passfile.chmod(_PRIVATE_FILE)  # libpq and asyncpg ignore a group/world-readable file
        return found
    # URL-safe base64: no ':' or '\\', which pgpass would need escaped.
    password = secrets.token_urlsafe(32)
    _write_private(passfile, f"*:*:*:{role}:{password}\n")
    return password


def ensure_secret(path: Path) -> str:
    """A secret kept alone in ``path`` (e.g. Kafka's SCRAM password): read, or made and written."""
    private_dir(path.parent)
    try:
        found = path.read_text("utf-8").strip()
    except FileNotFoundError:
        found = ""
    if found:
        path.chmod(_PRIVATE_FILE)
        return found
    secret = secrets.token_urlsafe(32)  # no '"' or ']': it goes into a JAAS line and --add-scram
    _write_private(path, secret + "\n")
    return secret


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _PRIVATE_FILE)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    tmp.replace(path)
