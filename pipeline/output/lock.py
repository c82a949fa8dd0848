"""One writer per output folder: ``run``, ``rerun`` and ``validate`` hold a lock on it while they run.

Two processes writing the same ``outputs/<digest>/`` would not corrupt a file (every write is
atomic) but would mix two runs' papers under one ``run.json`` and pay for the same model calls
twice. So a command that writes an output folder takes :func:`output_lock` first; a second one
fails at once with :class:`~pipeline.errors.OutputLockedError` (exit 2), naming the holder. Two
runs with different output folders sharing one cache stay allowed (the cache has its own
locking).

Mechanism (Linux / macOS): the lock file ``<out_dir>/.digest-pipeline.lock`` is locked with
``flock(LOCK_EX | LOCK_NB)`` (flock(2)), and holds JSON ``{"pid", "command", "started_at",
"host"}`` for the error message. The kernel releases a flock when its process exits however it
exits (``kill -9``, a crash, a power loss), so a stale lock needs no PID check or timeout: the
file of a dead holder is simply unlocked, and the next command takes it over (its old content is
reported as :attr:`OutputLock.taken_over`). A live PID reused by an unrelated process cannot hold a
flock on our file, so PID reuse does not matter either.

The holder unlinks the file before it releases the lock. A contender that opened the old file
and gets its lock after that release sees that the path no longer names the file it locked and
starts again, so two processes never both believe they hold the folder.

Limits: the lock is advisory (only our commands respect it); on NFS, Linux maps flock to POSIX
byte-range locks, which work across clients with NFSv4 / lockd; the file descriptor is opened
``O_CLOEXEC``, so model servers started by the run do not inherit the lock, but a ``fork`` without
exec does hold it until that child exits.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipeline.errors import OutputLockedError

LOCK_NAME = ".digest-pipeline.lock"
_MAX_HOLDER_BYTES = 4096


@dataclass(frozen=True)
class OutputLock:
    """A held output-folder lock: its file, what it says about us, and the content a dead
    holder left behind (``taken_over``, empty when the folder was free)."""

    path: Path
    holder: dict[str, Any]
    taken_over: dict[str, Any]


@contextmanager
def output_lock(out_dir: Path, command: str, *, create: bool = True) -> Iterator[OutputLock]:
    """Hold ``out_dir``'s lock for the ``with`` block (see the module docstring).

    ``command`` names the holder in a contender's error (``run``, ``rerun``, ``validate``).
    ``create`` makes ``out_dir`` (and its parents) first; without it a missing folder is an error.

    Raises:
        OutputLockedError: a live process holds the folder (exit 2; names its PID, command,
            host and start time).
        OSError: the lock file cannot be created (e.g. a read-only folder); its ``filename`` is
            the lock file.
    """
    out_dir = Path(out_dir)
    if create:
        out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOCK_NAME
    fd, previous = _acquire(path)
    holder = {"pid": os.getpid(), "command": command,
              "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "host": socket.gethostname()}
    try:
        _write_holder(fd, holder)
        yield OutputLock(path, holder, previous)
    finally:
        path.unlink(missing_ok=True)      # before the release: see the module docstring
        os.close(fd)                      # releases the flock


def _acquire(path: Path) -> tuple[int, dict[str, Any]]:
    """Lock ``path`` (creating it); return its descriptor and what a previous holder left in it.

    Retries when the file was unlinked by its holder between our open and our lock.
    """
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise OutputLockedError(path.parent, holder) from None
        except BaseException:
            os.close(fd)
            raise
        if _same_file(fd, path):
            return fd, _read_holder(fd)
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the open file ``fd`` (not unlinked or replaced since)."""
    try:
        current = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (opened.st_dev, opened.st_ino) == (current.st_dev, current.st_ino)


def _read_holder(fd: int) -> dict[str, Any]:
    """The JSON a holder wrote in the lock file; ``{}`` when empty or not (yet) readable."""
    try:
        data = json.loads(os.pread(fd, _MAX_HOLDER_BYTES, 0).decode("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_holder(fd: int, holder: dict[str, Any]) -> None:
    """Replace the lock file's content by ``holder`` as JSON."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(holder) + "\n").encode("utf-8"), 0)
