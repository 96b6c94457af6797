"""Whether sync may send the national database's token to a URL: never in clear to another host."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_url_problem(url: str, *, allow_insecure: bool) -> str | None:
    """Why sync must refuse ``url``, or None when it may use it.

    The bearer token goes with every request: over plain ``http://`` to any host but this one it
    could be read on the way, so that takes ``LANDSYNC_NATIONAL_DB_ALLOW_INSECURE=true``.
    """
    parts = urlsplit(url)
    if parts.scheme == "https":
        return None
    if parts.scheme != "http":
        return f"LANDSYNC_NATIONAL_DB_URL must be an http(s) URL, not {parts.scheme or 'none'}://"
    if is_loopback(parts.hostname or "") or allow_insecure:
        return None
    return (
        f"LANDSYNC_NATIONAL_DB_URL is plain http to {parts.hostname}: the national database's"
        " token would travel in clear. Use https, or set LANDSYNC_NATIONAL_DB_ALLOW_INSECURE=true"
    )
