"""What every LandSync process does first: logging, and garbage-collector settings for bulk work."""

from __future__ import annotations

import ctypes
import gc
import os
import shutil
import signal
from pathlib import Path

from shared.logging import configure_logging, get_logger
from shared.settings import CommonSettings, unknown_variables
from shared.tracing import configure_tracing


def prepare_process(service: str, settings: CommonSettings) -> None:
    """Configure logging and the garbage collector for a service process.

    A ``LANDSYNC_*`` variable no setting reads is logged as a warning: a typo in a deployment's
    environment would otherwise leave the default in force without a word.
    """
    configure_logging(service, settings.log_level)
    configure_tracing(service, settings)
    for name, close in unknown_variables(os.environ).items():
        get_logger(__name__).warning(
            "unknown LANDSYNC_ variable ignored", variable=name, did_you_mean=close
        )
    # Batches keep thousands of records alive at once; with CPython's default threshold (700)
    # the collector re-scans them over and over, which measured as half of validation time.
    gc.set_threshold(50_000, 20, 20)
    gc.freeze()  # objects from start-up (modules, settings) are never garbage: skip them
    report_process_metrics()


def report_process_metrics() -> None:
    """In multiprocess mode, count this process's memory and CPU in its service's ``/metrics``."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return  # one process: prometheus_client's default ProcessCollector reports it
    # Imported only now: prometheus_client picks multiprocess mode when it is first imported,
    # and a service's supervisor sets the variable after its own prepare_process.
    from shared import process_metrics  # noqa: PLC0415

    process_metrics.start()


_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_PR_SET_NAME = 15


def _prctl(option: int, arg: int | bytes) -> None:
    if ctypes.CDLL(None, use_errno=True).prctl(option, arg, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


def name_process(name: str) -> None:
    """Name this process for ps, top and /proc/<pid>/comm (at most 15 bytes are kept)."""
    _prctl(_PR_SET_NAME, name.encode()[:15])


def die_with_parent(sig: signal.Signals, parent: int) -> None:
    """Have the kernel send ``sig`` to this process when ``parent``, its parent, exits (``prctl``).

    For helper processes (intake's relay and validators): if their parent is killed outright,
    they must not live on as orphans that nothing will stop. ``parent`` is the pid the parent
    passed down: if this process is already someone else's child, it was orphaned before it
    could ask, and it gets ``sig`` at once.
    """
    _prctl(_PR_SET_PDEATHSIG, int(sig))
    if os.getppid() != parent:
        os.kill(os.getpid(), sig)


#: The variable that puts prometheus_client in multiprocess mode when it is first imported.
MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"


def share_metrics(settings: CommonSettings, service: str) -> Path:
    """Make a service's worker processes count into one directory, summed by ``/metrics``.

    Empties ``<state_dir>/metrics/<service>`` and names it in the environment: call it before
    anything imports prometheus_client in a process that will serve (this module does not).
    """
    directory = settings.state_dir.resolve() / "metrics" / service
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[MULTIPROC] = str(directory)
    return directory
