"""The ``landsync keys create|list|revoke`` commands: API keys of the intake API (CONTRACT §2)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shared.auth import (
    ROLES,
    KeyListing,
    Role,
    create_key,
    list_keys,
    revoke_key,
    split_key,
)
from shared.cli.config import local_settings, on_database
from shared.cli.options import AsJson
from shared.cli.tables import add_id_column, wide_console

keys_app = typer.Typer(help="API keys for the intake API.", no_args_is_help=True)
_err = Console(stderr=True)
_COMMUNE = re.compile(r"^[0-9]{5}$")
_DURATION = re.compile(r"^([0-9]+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class KeyOptionError(ValueError):
    """Options that do not make a key: the message says why."""


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``15m`` or ``90s`` as a positive duration."""
    match = _DURATION.match(text.strip())
    if match is None or int(match[1]) == 0:
        raise KeyOptionError(f"{text!r} is not a duration such as 30d, 12h, 15m or 90s")
    return timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])


def parse_expiry_date(text: str) -> datetime:
    """When a key given ``--expires TEXT`` stops working.

    A date means the key works through that day (UTC): it expires at the midnight that ends it.
    A date and time is taken as UTC unless it names its own offset.
    """
    try:
        if len(text.strip()) == len("2025-12-31"):
            day = date.fromisoformat(text.strip())
            return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise KeyOptionError(f"{text!r} is not an ISO date (2025-12-31) or date and time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def key_options(
    role: str,
    communes: list[str],
    *,
    expires_in: str | None,
    expires: str | None,
    now: datetime,
) -> tuple[Role, list[str], datetime | None]:
    """Check ``keys create``'s options; the role, the communes and the expiry they make."""
    if role not in ROLES:
        raise KeyOptionError(f"--role must be one of {', '.join(ROLES)}")
    if role == "submitter" and not communes:
        raise KeyOptionError("a submitter key needs at least one --commune")
    if role != "submitter" and communes:
        raise KeyOptionError(
            f"--commune applies to submitter keys only: {a_key(role)} reads every commune"
            " and submits for none, so it would be ignored"
        )
    if bad := [c for c in communes if not _COMMUNE.match(c)]:
        raise KeyOptionError(f"not 5-digit commune codes: {', '.join(bad)}")
    if expires_in is not None and expires is not None:
        raise KeyOptionError("give --expires-in or --expires, not both")
    expires_at = None
    if expires_in is not None:
        expires_at = now + parse_duration(expires_in)
    elif expires is not None:
        expires_at = parse_expiry_date(expires)
        if expires_at <= now:
            raise KeyOptionError(f"--expires {expires} is in the past")
    checked = next(r for r in ROLES if r == role)
    return checked, sorted(set(communes)), expires_at


def a_key(role: str) -> str:
    """``a submitter key``, ``an operator key``: the article as the role's first sound needs."""
    return f"{'an' if role[:1] in 'aeiou' else 'a'} {role} key"


@keys_app.command("create")
def create_command(  # noqa: PLR0917 - typer passes each option by name
    role: Annotated[Role, typer.Option(help="what the key may do (CONTRACT §2)")],
    commune: Annotated[
        list[str] | None,
        typer.Option(help="a commune code a submitter key may submit for (repeatable)"),
    ] = None,
    label: Annotated[str | None, typer.Option(help="a note for whoever reads the key list")] = None,
    expires_in: Annotated[
        str | None, typer.Option(help="the key stops working after this long: 30d, 12h, 15m")
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(help="the key works through this date (UTC), or until this date and time"),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Create an API key and print it once; only its hash is stored."""
    try:
        checked, communes, expires_at = key_options(
            role, commune or [], expires_in=expires_in, expires=expires, now=datetime.now(UTC)
        )
    except KeyOptionError as exc:
        raise typer.BadParameter(str(exc)) from None
    key, _ = on_database(lambda conn: create_key(conn, checked, communes, label, expires_at))
    until = expires_at.isoformat(timespec="seconds") if expires_at else None
    if as_json:
        typer.echo(
            json.dumps({"key": key, "role": checked, "communes": communes, "expires_at": until})
        )
        return
    _err.print(f"[green]Created {a_key(checked)}[/] for {', '.join(communes) or 'all communes'}.")
    if until:
        _err.print(f"It expires at {until}.")
    _err.print("Store it now: it is not shown again.")
    typer.echo(key)


def _stamp(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


def listing_json(key: KeyListing) -> dict[str, Any]:
    """One key of ``keys list --json``: no secret, no hash."""
    return {
        "key_id": key.key_id,
        "role": key.role,
        "communes": key.communes,
        "label": key.label,
        "created_at": _stamp(key.created_at),
        "expires_at": _stamp(key.expires_at),
        "revoked_at": _stamp(key.revoked_at),
    }


@keys_app.command("list")
def list_command(
    include_revoked: Annotated[
        bool, typer.Option("--include-revoked", help="also revoked and expired keys")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Every key with its role, communes, creation, expiry and revocation (never a secret)."""
    now = datetime.now(UTC)
    keys = on_database(list_keys)
    if not include_revoked:
        keys = [
            k for k in keys if k.revoked_at is None and (k.expires_at is None or k.expires_at > now)
        ]
    if as_json:
        typer.echo(json.dumps({"keys": [listing_json(k) for k in keys]}))
        return
    wide_console(130).print(keys_table(keys))


def keys_table(keys: list[KeyListing]) -> Table:
    """The keys for the terminal; key ids whole, never wrapped."""
    table = Table()
    add_id_column(table, "key id", (k.key_id for k in keys))
    for column in ("role", "communes", "label", "created", "expires", "revoked"):
        table.add_column(column)
    for k in keys:
        table.add_row(
            k.key_id,
            k.role,
            ", ".join(k.communes) or "all",
            k.label or "",
            _stamp(k.created_at),
            _stamp(k.expires_at) or "never",
            _stamp(k.revoked_at) or "",
        )
    return table


@keys_app.command("revoke")
def revoke_command(
    key_id: Annotated[str, typer.Argument(help="the key id, as keys list shows it")],
) -> None:
    """Revoke a key: intake refuses it (401) within LANDSYNC_API_KEY_CACHE_SECONDS."""
    settings = local_settings()
    if parts := split_key(key_id):  # the whole key was given: its id is the middle part
        key_id = parts[0]
    revoked = on_database(lambda conn: revoke_key(conn, key_id), settings)
    if revoked is None:
        _err.print(f"[red]No key {key_id}[/] (see landsync keys list)")
        raise typer.Exit(1)
    _err.print(
        f"Key {key_id} revoked at {_stamp(revoked)}; intake refuses it within"
        f" {settings.api_key_cache_seconds:g} s."
    )
