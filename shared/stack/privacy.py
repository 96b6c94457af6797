"""File modes of the state directory: the stack's data, logs and secrets are its owner's alone."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from shared.stack.postgres import is_root

_DIR, _FILE = 0o700, 0o600


def _private_tree(top: Path) -> None:
    """Directories 0700 and files 0600 below ``top`` (and ``top`` itself)."""
    with contextlib.suppress(FileNotFoundError):
        if top.is_symlink():
            return
        if not top.is_dir():
            top.chmod(_FILE)
            return
        top.chmod(_DIR)
        for root, dirs, files in os.walk(top):
            for name in dirs:
                with contextlib.suppress(FileNotFoundError):  # Kafka renames and deletes
                    Path(root, name).chmod(_DIR)
            for name in files:
                path = Path(root, name)
                with contextlib.suppress(FileNotFoundError):
                    if not path.is_symlink():
                        path.chmod(_FILE)


def make_private(state_dir: Path, pgdata: Path) -> None:
    """Make the state directory private; PostgreSQL's cluster inside it stays reachable.

    When root runs the stack and the cluster lives in the state directory, the ``postgres``
    user must still traverse it: then the directory is ``root:postgres`` with mode 0710 (no one
    else may enter, and postgres may not list it); otherwise 0700. Everything else below it
    (Kafka's log directory, logs, pid files, secrets, the simulator's journal) is 0700/0600.
    """
    state_dir = state_dir.resolve()
    pgdata = pgdata.resolve()
    holds_cluster = pgdata.is_relative_to(state_dir)
    if holds_cluster and is_root():
        shutil.chown(state_dir, group="postgres")
        state_dir.chmod(0o710)
    else:
        state_dir.chmod(_DIR)
    for entry in state_dir.iterdir():
        if entry.resolve() != pgdata:  # initdb made it 0700, owned by postgres
            _private_tree(entry)
