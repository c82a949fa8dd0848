"""Atomic file writes: a reader (or a crash) never sees a half-written output file.

Every write goes to a hidden temp file in the target's folder (``.<name>.<random>.tmp``) and is
renamed over the target, so a ``kill -9`` leaves either the old file or the new one. ``durable``
also fsyncs the data before the rename, so that a power loss cannot leave an empty file behind a
completed rename; the run skips that for per-paper files (an fsync each costs about as much as
the rest of a cached paper, and a paper file is rebuilt from the stage cache by running again)
and keeps it for the aggregates, ``run.json`` last.

JSON is written by :func:`dumps_json`: indented by 2, non-ASCII kept as is, keys in insertion
order, a trailing newline; the same text ``json.dumps(data, ensure_ascii=False, indent=2)`` gives
except that floats use the shortest round-trip form with a bare exponent (``1e-7``, Python:
``1e-07``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic_core import to_json


def _file_mode() -> int:
    """The mode a plain ``open()`` would give a new file (0o666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()  # mkstemp makes 0600 files; outputs are meant to be served and shared


def dumps_json(data: Any) -> str:
    """``data`` as indented JSON text (see the module docstring), without the trailing newline."""
    return to_json(data, indent=2).decode("utf-8")


def write_text_atomic(path: Path, text: str, *, durable: bool = True) -> None:
    """Write ``text`` (UTF-8) to ``path`` via a temp file in the same folder and rename it;
    ``durable`` fsyncs the temp file first.

    Raises:
        OSError: the folder or file cannot be written; ``filename`` is ``path`` when the failing
            call named no file (a full disk fails in ``write()``), else the file it names.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)    # a failed write() names no file: "No space left on device"
        raise


def write_json_atomic(path: Path, data: Any, *, durable: bool = True) -> None:
    """Write ``data`` as indented UTF-8 JSON (:func:`dumps_json`), atomically."""
    write_text_atomic(path, dumps_json(data) + "\n", durable=durable)
