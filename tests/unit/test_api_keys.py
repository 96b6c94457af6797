"""API keys: their shape, the bounded key cache, the options of ``keys create``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from services.intake.keys import KeyCache
from shared.auth import ApiKey, split_key
from shared.cli.key_commands import KeyOptionError, key_options
from shared.cli.main import app

NOW = datetime(2026, 1, 10, 8, 0, tzinfo=UTC)
SECRET = "A" * 43


@pytest.mark.parametrize(
    "presented",
    [
        "lsk_" + "a" * 1_000_000 + "_x",  # the megabyte id of issue 10
        "lsk_0123456789ab_" + "s" * 10_000,
        "lsk_0123456789AB_" + SECRET,  # ids are lower-case hex
        "lsk_0123456789ab_secret with space",
        "lsk_0123456789ab_",
        "LSK_0123456789ab_" + SECRET,
        "lsk_01234567\u00e9ab_" + SECRET,
    ],
)
def test_anything_not_shaped_like_a_key_is_refused_before_any_lookup(presented: str) -> None:
    assert split_key(presented) is None


def test_a_key_as_create_key_makes_it_is_accepted() -> None:
    assert split_key(f"lsk_0123456789ab_{SECRET}") == ("0123456789ab", SECRET)


def test_the_key_cache_never_holds_more_than_its_entry_bound() -> None:
    cache = KeyCache(ttl=30, max_entries=100)

    for n in range(10_000):
        cache.put(f"{n:012x}", None, now=0.0)

    assert len(cache) == 100
    assert cache.get(f"{9_999:012x}", now=1.0) == (True, None)
    assert cache.get(f"{0:012x}", now=1.0) == (False, None)


def test_the_key_cache_never_holds_more_than_its_byte_bound() -> None:
    cache = KeyCache(ttl=30, max_entries=10_000, max_bytes=100_000)
    communes = frozenset(f"{c:05d}" for c in range(500))  # a province-wide submitter key

    for n in range(1_000):
        key = ApiKey(f"{n:012x}", "submitter", communes)
        cache.put(key.key_id, (key, b"h" * 32), now=0.0)

    assert 0 < cache.bytes <= 100_000
    assert len(cache) < 10


def test_a_cached_lookup_expires_after_the_ttl() -> None:
    cache = KeyCache(ttl=30)
    cache.put("0123456789ab", None, now=0.0)

    assert cache.get("0123456789ab", now=29.0)[0]
    assert not cache.get("0123456789ab", now=31.0)[0]
    assert len(cache) == 0


def test_a_key_with_an_expiry_is_expired_from_that_moment() -> None:
    key = ApiKey("0123456789ab", "viewer", frozenset(), expires_at=NOW)

    assert not key.expired(NOW - timedelta(seconds=1))
    assert key.expired(NOW)
    assert not ApiKey("0123456789ab", "viewer", frozenset()).expired(NOW)


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_a_commune_on_an_operator_or_viewer_key_is_refused(role: str) -> None:
    with pytest.raises(KeyOptionError, match="submitter keys only"):
        key_options(role, ["07339"], expires_in=None, expires=None, now=NOW)


def test_keys_create_says_why_it_refuses_a_commune_on_a_viewer_key() -> None:
    result = CliRunner().invoke(app, ["keys", "create", "--role", "viewer", "--commune", "07339"])

    assert result.exit_code == 2
    assert "submitter keys only" in result.output


def test_expires_in_counts_from_now() -> None:
    _, _, expires = key_options("viewer", [], expires_in="30d", expires=None, now=NOW)

    assert expires == NOW + timedelta(days=30)


def test_a_date_of_expiry_keeps_the_key_through_that_day_utc() -> None:
    _, _, expires = key_options("operator", [], expires_in=None, expires="2026-02-01", now=NOW)

    assert expires == datetime(2026, 2, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expires_in", "expires"),
    [
        ("30", None),
        ("0d", None),
        ("1w", None),
        (None, "2025-12-31"),
        (None, "soon"),
        ("1d", "2027-01-01"),
    ],
)
def test_an_expiry_that_makes_no_sense_is_refused(
    expires_in: str | None, expires: str | None
) -> None:
    with pytest.raises(KeyOptionError):
        key_options("viewer", [], expires_in=expires_in, expires=expires, now=NOW)
