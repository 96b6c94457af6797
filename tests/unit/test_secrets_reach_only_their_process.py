"""Secrets in the environment of the processes the stack starts; sync refuses clear http."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.sync.transport import insecure_url_problem
from shared.settings import isolated
from shared.stack.services import child_env


def test_the_national_db_token_reaches_only_sync_and_the_simulator(tmp_path: Path) -> None:
    settings = isolated(23000, tmp_path, national_db_token="t0ken", api_key="lsk_x_y")

    envs = {
        name: child_env(settings, name) for name in ("intake", "reconcile", "sync", "national-db")
    }

    assert envs["sync"]["LANDSYNC_NATIONAL_DB_TOKEN"] == "t0ken"
    assert envs["national-db"]["LANDSYNC_NATIONAL_DB_TOKEN"] == "t0ken"
    assert "LANDSYNC_NATIONAL_DB_TOKEN" not in envs["intake"]
    assert "LANDSYNC_NATIONAL_DB_TOKEN" not in envs["reconcile"]
    assert all("LANDSYNC_API_KEY" not in env for env in envs.values())


def test_an_api_key_in_our_own_environment_is_not_passed_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANDSYNC_API_KEY", "lsk_0123456789ab_secret")
    monkeypatch.setenv("LANDSYNC_NATIONAL_DB_TOKEN", "t0ken")
    settings = isolated(23000, tmp_path)

    env = child_env(settings, "intake")

    assert "LANDSYNC_API_KEY" not in env
    assert "LANDSYNC_NATIONAL_DB_TOKEN" not in env


@pytest.mark.parametrize(
    "url",
    [
        "https://ndb.example.gov.vn",
        "http://127.0.0.1:18090",
        "http://localhost:1",
        "http://[::1]:8",
    ],
)
def test_sync_takes_https_anywhere_and_http_on_loopback(url: str) -> None:
    assert insecure_url_problem(url, allow_insecure=False) is None


def test_sync_refuses_clear_http_to_another_host_unless_allowed() -> None:
    url = "http://ndb.example.gov.vn/api"

    problem = insecure_url_problem(url, allow_insecure=False)

    assert problem is not None
    assert "LANDSYNC_NATIONAL_DB_ALLOW_INSECURE" in problem
    assert insecure_url_problem(url, allow_insecure=True) is None
