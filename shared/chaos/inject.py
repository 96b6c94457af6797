"""Applies a schedule's faults to a running stack: signals to its processes, simulator faults."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.chaos.schedule import Fault
from shared.settings import Settings
from shared.stack import Stack
from shared.stack.processes import descendants, live_pid, parent_of


def _workers(pid: int) -> list[int]:
    """The uvicorn worker processes of ``pid``: its children started by multiprocessing's spawn.

    Not multiprocessing's resource tracker, which is a child too, and the first one.
    """
    found = []
    for child in descendants(pid):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if (
                parent_of(child) == pid
                and b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
            ):
                found.append(child)
    return found


def targets(stack: Stack, fault: Fault) -> list[int]:
    """The pids a signal fault hits; none when the component is not running (mid-restart)."""
    pid = live_pid(stack.pidfile(fault.component))
    if pid is None:
        return []
    below = list(descendants(pid))
    if fault.action == "sigstop":
        return [pid, *below]  # a paused service pauses with its workers and relay
    if fault.component == "reconcile" and (workers := _workers(pid)):
        return workers[:1]  # one worker dies; uvicorn's supervisor starts another
    if fault.component == "postgres":
        return [pid, *below]  # the server crashes whole, as when its machine dies
    return [pid]


@dataclass
class Injector:
    """Applies faults and undoes the pauses; :meth:`resume_all` must run however the run ends."""

    stack: Stack
    settings: Settings
    stopped: set[int] = field(default_factory=set)
    log: list[str] = field(default_factory=list)

    async def apply(self, fault: Fault) -> bool:
        """Apply one fault and wait out its duration; whether it hit anything."""
        if fault.action in {"outage", "error_rate"}:
            return await self._simulator(fault)
        pids = targets(self.stack, fault)
        sig = signal.SIGKILL if fault.action == "sigkill" else signal.SIGSTOP
        hit = [p for p in pids if _signal(p, sig)]
        self._note(fault, f"{len(hit)} processes" if hit else "not running")
        if sig == signal.SIGSTOP and hit:
            self.stopped.update(hit)
            await asyncio.sleep(fault.duration)
            self._resume(hit)
        return bool(hit)

    async def _simulator(self, fault: Fault) -> bool:
        if fault.action == "outage":
            body: dict[str, float] = {"outage_s": fault.duration}
        else:
            body = {"error_rate": fault.rate, "rate_limit_rate": round(fault.rate / 4, 2)}
        if not await self._post_faults(body):
            self._note(fault, "simulator unreachable")
            return False
        self._note(fault, "set")
        await asyncio.sleep(fault.duration)
        if fault.action == "error_rate":
            # A simulator restarted meanwhile has forgotten the rate already; that is fine.
            await self._post_faults({"error_rate": 0, "rate_limit_rate": 0})
        return True

    async def _post_faults(self, body: dict[str, float]) -> bool:
        url = f"{self.settings.service_url('national-db')}/v1/_faults"
        for _ in range(10):  # a simulator being restarted answers again within seconds
            try:
                async with httpx.AsyncClient(timeout=5) as client:
                    if (await client.post(url, json=body)).is_success:
                        return True
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
        return False

    def _resume(self, pids: list[int]) -> None:
        for pid in pids:
            _signal(pid, signal.SIGCONT)
            self.stopped.discard(pid)

    def resume_all(self) -> None:
        """SIGCONT every process still paused (the run was interrupted mid-pause)."""
        self._resume(sorted(self.stopped))

    def _note(self, fault: Fault, what: str) -> None:
        self.log.append(f"{fault.describe()}: {what} ({time.strftime('%H:%M:%S')})")


def _signal(pid: int, sig: signal.Signals) -> bool:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True
