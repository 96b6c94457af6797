"""Detached processes tracked by pid files (pid + start time: a reused pid never matches)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

# Children spawned by this interpreter: kept so they are reaped (no zombies look alive) and so
# Popen's destructor never warns about a still-running process.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class StackError(RuntimeError):
    """A component of the local stack could not be provisioned, started or stopped."""


def start_time(pid: int) -> int | None:
    """The process start time in clock ticks since boot (/proc/<pid>/stat field 22), or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = raw[raw.rfind(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie has exited; it only waits to be reaped
        return None
    return int(fields[19])


# Exit codes of reaped children, until asked for (the supervisor says how a component died).
_EXITED: dict[int, int] = {}


def _reap(pid: int) -> None:
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        del _CHILDREN[pid]
        _EXITED[pid] = child.returncode


def exit_code(pid: int) -> int | None:
    """How a child of this process ended (negative: the signal), or None if not our child."""
    _reap(pid)
    return _EXITED.pop(pid, None)


def read_pidfile(path: Path) -> dict[str, Any] | None:
    """The record in a pid file, or None when there is none or it is unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("pid"), int) else None


def write_pidfile(path: Path, pid: int, **extra: object) -> None:
    """Record a pid with its start time, atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # Private whatever the umask of the process writing it (a test, the CLI, a service).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps({"pid": pid, "start_time": start_time(pid), **extra}))
    tmp.chmod(0o600)  # an older, readable .tmp keeps its mode through O_CREAT
    tmp.replace(path)


def live_pid(path: Path) -> int | None:
    """The pid a pid file names if that very process (same start time) is still alive."""
    record = read_pidfile(path)
    if record is None:
        return None
    pid: int = record["pid"]
    _reap(pid)
    started = start_time(pid)
    return pid if started is not None and started == record.get("start_time") else None


def open_log(log: Path) -> BinaryIO:
    """A log file to append to, created readable by its owner only."""
    log.parent.mkdir(parents=True, exist_ok=True)
    return os.fdopen(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")


def spawn(argv: list[str], *, log: Path, cwd: Path, env: dict[str, str] | None = None) -> int:
    """Start a detached process (own session) with stdout+stderr appended to ``log``."""
    with open_log(log) as out:
        # Logs are appended across runs: mark where this run starts, so a tail is not misread.
        # A JSON line like the services' own, so their logs stay one JSON object a line.
        mark = {
            "event": "landsync: starting",
            "command": " ".join(argv[:3]),
            "logger": "landsync.stack",
            "level": "info",
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        out.write(json.dumps(mark).encode() + b"\n")
        out.flush()
        child = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,  # survives Ctrl-C of the CLI and is its own process group
            umask=0o077,  # what a component writes (Kafka's log, journals, metrics) is private
        )
    _CHILDREN[child.pid] = child
    return child.pid


def alive(pid: int) -> bool:
    """Whether a pid names a running (not zombie) process."""
    _reap(pid)
    return start_time(pid) is not None


def wait_reaped(pid: int, timeout: float) -> None:
    """Wait while ``pid`` is a zombie: tools such as pg_ctl take an unreaped pid for a live one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        try:
            state = Path(f"/proc/{pid}/stat").read_text("ascii", errors="replace")
        except OSError:
            return
        if state[state.rfind(")") + 2 :].split()[0] != "Z":
            return
        time.sleep(0.1)


def signal_process(pid: int, sig: signal.Signals) -> None:
    """Signal a process and, when it leads its own group, its whole group (children included)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait until the processes have exited; return those still alive after ``timeout``."""
    deadline = time.monotonic() + timeout
    remaining = [p for p in pids if alive(p)]
    while remaining and time.monotonic() < deadline:
        time.sleep(0.1)
        remaining = [p for p in remaining if alive(p)]
    return remaining


def terminate(pidfiles: list[Path], timeout: float) -> None:
    """SIGTERM what the pid files name, SIGKILL what outlives ``timeout``, remove the files."""
    pids = [pid for path in pidfiles if (pid := live_pid(path)) is not None]
    for pid in pids:
        signal_process(pid, signal.SIGTERM)
    for pid in wait_gone(pids, timeout):
        signal_process(pid, signal.SIGKILL)
    wait_gone(pids, 5.0)
    for path in pidfiles:
        path.unlink(missing_ok=True)


def kill(pidfile: Path) -> None:
    """SIGKILL what a pid file names (a simulated crash) and remove the file."""
    pid = live_pid(pidfile)
    if pid is not None:
        signal_process(pid, signal.SIGKILL)
        wait_gone([pid], 5.0)
        # An orphan is reaped by init, sometimes seconds later; a restart must not see it.
        wait_reaped(pid, 30.0)
    pidfile.unlink(missing_ok=True)


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file, for error messages."""
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 16384))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def parent_of(pid: int) -> int:
    """The parent process id of ``pid`` (from /proc; raises OSError once it has exited)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def descendants(pid: int) -> dict[int, str]:
    """The processes under ``pid`` (children, grandchildren, …), each with its name (comm)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):  # it exited meanwhile
                parents[int(entry.name)] = parent_of(int(entry.name))
    found: dict[int, str] = {}
    frontier = {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier}
        for p in sorted(frontier):
            with contextlib.suppress(OSError):
                found[p] = Path(f"/proc/{p}/comm").read_text().strip()
    return found
