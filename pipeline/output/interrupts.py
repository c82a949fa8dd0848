"""Holding Ctrl-C while a run writes the files that describe it.

A Ctrl-C that lands while a run writes its aggregates (``digest.json``, ``run.json``, the English
data file, ``feed.xml``, ``report.html``) used to stop the writing half-way: every file write is
atomic, but the set was not, and the folder was left with its paper files only (or a traceback,
when the interrupt landed inside pydantic's JSON serializer). Inside :func:`interrupts_deferred`
the interrupt is remembered and raised when the block ends, so the set is written whole and
the run still stops with exit 130.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Run the block with SIGINT held; raise KeyboardInterrupt after it when one arrived. A no-op
    outside the main thread (only it may set signal handlers) and when SIGINT is not Python's
    KeyboardInterrupt handler (ignored, or handled by someone else)."""
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    received: list[int] = []

    def remember(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    signal.signal(signal.SIGINT, remember)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if received:
        raise KeyboardInterrupt
