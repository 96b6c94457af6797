"""The Python services the stack runs as processes: registry, child environment, readiness."""

from __future__ import annotations

import importlib.util
import os
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr

from shared.settings import Settings
from shared.stack.processes import StackError, alive, tail


@dataclass(frozen=True)
class Service:
    """One service process: its module, the settings field holding its port, its ready path."""

    name: str
    module: str
    port_field: str
    ready_path: str

    def port(self, settings: Settings) -> int:
        """The port this service listens on."""
        port: int = getattr(settings, self.port_field)
        return port

    def available(self) -> bool:
        """Whether ``python -m <module>`` can run in this checkout (services land one by one)."""
        try:
            spec = importlib.util.find_spec(self.module)
        except ModuleNotFoundError:
            return False
        if spec is None:
            return False
        if spec.submodule_search_locations is None:  # a plain module runs as it is
            return True
        # A package runs through its __main__; an empty directory is a namespace package
        # that find_spec still reports. Looked up on disk so nothing is imported here.
        return any((Path(d) / "__main__.py").is_file() for d in spec.submodule_search_locations)


#: Start order: the simulator first, since sync talks to it.
SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        Service("national-db", "services.national_db", "national_db_port", "/healthz"),
        Service("intake", "services.intake", "intake_port", "/readyz"),
        Service("reconcile", "services.reconcile", "reconcile_port", "/healthz"),
        Service("sync", "services.sync", "sync_port", "/healthz"),
    )
}


#: Secrets only some processes may see: the national database's token goes to sync (and the
#: simulator, which checks it); a client's API key to no service at all.
_SECRET_FOR: dict[str, frozenset[str]] = {
    "national_db_token": frozenset({"sync", "national-db"}),
    "api_key": frozenset(),
}


def child_env(settings: Settings, service: str | None = None) -> dict[str, str]:
    """The current environment plus every setting as LANDSYNC_*, so children see our config.

    For a ``service``, the secrets it has no use for are left out (even when our own environment
    has them); a command-line child (``service`` None) gets every setting but the API key.
    """
    env = dict(os.environ)
    for field, value in settings.model_dump().items():
        allowed = _SECRET_FOR.get(field)
        if value is None or (
            allowed is not None and (field == "api_key" or (service and service not in allowed))
        ):
            env.pop(f"LANDSYNC_{field.upper()}", None)
            continue
        # Children run from PROJECT_ROOT: relative paths must not change meaning there.
        text = str(value.resolve()) if isinstance(value, Path) else str(value)
        if isinstance(value, SecretStr):  # its str() is asterisks
            text = value.get_secret_value()
        env[f"LANDSYNC_{field.upper()}"] = text
    return env


def wait_ready(url: str, pid: int, log: Path, timeout: float = 60.0) -> None:
    """Poll a health URL until it answers 200; fail early with the log tail if the process died."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    with httpx.Client(timeout=2.0) as client:
        while True:
            try:
                response = client.get(url)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            if not alive(pid):
                raise StackError(f"{url}: the process exited; {log} ends with:\n{tail(log)}")
            if time.monotonic() > deadline:
                raise StackError(
                    f"{url} not ready after {timeout:.0f} s ({last}); {log} ends with:\n{tail(log)}"
                )
            time.sleep(0.2)
