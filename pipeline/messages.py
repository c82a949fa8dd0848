"""One-line error messages for the CLI: an OSError named by its path and reason, long paths cut.

An ``OSError`` from a failed write may carry no path at all (``[Errno 28] No space left on device``
comes from ``write()`` on an open file) or a path thousands of characters long (``[Errno 36] File
name too long``). :func:`os_error_line` gives ``PATH: reason [ENOSPC]``; the writers in
:mod:`pipeline.output.files` attach the target path to the errors they raise. :func:`shorten_words`
keeps any single very long word (a path, an id) of a message to its head and tail.
"""

from __future__ import annotations

import errno

#: Longest word (run of non-blank characters) a one-line message shows in full.
MAX_WORD = 120
_ELLIPSIS = "..."


def shorten(text: str, limit: int = MAX_WORD) -> str:
    """``text`` when at most ``limit`` characters; else its first and last characters around
    ``...`` with the number of characters left out, e.g. ``/tmp/aaaa...[4,912 chars]...aaa.json``."""
    if len(text) <= limit:
        return text
    keep = max(limit // 2 - 10, 1)
    return f"{text[:keep]}{_ELLIPSIS}[{len(text) - 2 * keep:,} chars]{_ELLIPSIS}{text[-keep:]}"


def shorten_words(line: str, limit: int = MAX_WORD) -> str:
    """``line`` with every word longer than ``limit`` characters shortened by :func:`shorten`
    (spaces are kept as they are)."""
    return " ".join(shorten(word, limit) for word in line.split(" "))


def os_error_line(exc: OSError) -> str:
    """``PATH: reason [ERRNO NAME]`` (``PATH -> PATH2`` for a rename), paths shortened; without a
    path, the reason alone, e.g. ``/out/papers/x.json: No space left on device [ENOSPC]``."""
    reason = exc.strerror or str(exc)
    if exc.errno in errno.errorcode:
        reason = f"{reason} [{errno.errorcode[exc.errno]}]"
    paths = [shorten(str(p)) for p in (exc.filename, exc.filename2) if p is not None]
    return f"{' -> '.join(paths)}: {reason}" if paths else reason
