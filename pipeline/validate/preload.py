"""Load the checks' word tables in a background thread while a run starts.

The checks read three tables that their libraries load on first use: lemminflect's lemma table
and wordfreq's English list (:func:`pipeline.validate.vocab.load_tables`, about 0.5 s) and the
CC-CEDICT dictionary (:func:`pipeline.validate.bilingual.load_table`, about 0.25 s). Loaded
lazily, they cost the first paper that reaches a check that time, on the run's critical path.
:func:`pipeline.runner.run_digest` calls :func:`start_loading` as it starts, which loads them on
a daemon thread, so that the loading overlaps the first model requests (a backfill whose days are
all unchanged runs no day and loads nothing); a check that needs a table
before it is loaded waits for it under the same locks the lazy path takes, so the result is the
same either way.
"""

from __future__ import annotations

import threading

from pipeline.validate.bilingual import load_table
from pipeline.validate.vocab import load_tables

__all__ = ["start_loading"]

_thread: threading.Thread | None = None
_start_lock = threading.Lock()


def _load() -> None:
    try:
        load_tables()
        load_table()
    except Exception:  # noqa: BLE001 -- the lazy path loads again and raises where a check needs it
        pass


def start_loading() -> threading.Thread | None:
    """Start loading the tables on a daemon thread, once per process; returns at once with the
    thread (None when an earlier call started it)."""
    global _thread
    with _start_lock:
        if _thread is not None:
            return None
        _thread = threading.Thread(target=_load, name="load-check-tables", daemon=True)
    _thread.start()
    return _thread
